//! Test fixture, not a product binary: a stackr worker started exactly like a scaffolded
//! `<service>-worker` (`run_from_env`), whose one handler leaves a per-job side effect the
//! crash and shutdown tests (tests/worker_*.rs) can count.
//!
//! Handler `work`, data `{ "ms": <u64> }`: `INCR fixture:executions:<job id>` on the queue's
//! Redis, sleep `ms`, return `{ "id": <job id> }`. Handler `fail`, data `{ "reason": <text> }`:
//! fails at once with that reason.

use std::process::ExitCode;
use std::time::Duration;

use stackr_kit::worker::{run_from_env, Handlers, Job, JobError, QueueConfig};

#[global_allocator]
static ALLOCATOR: stackr_kit::worker::Allocator = stackr_kit::worker::Allocator;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match QueueConfig::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("worker_test_fixture: {err}");
            return ExitCode::FAILURE;
        }
    };
    let side_effects = stackr_kit::redis_conn::multiplexed(&config.redis_url)
        .await
        .expect("connect to the queue's redis");

    let handlers = Handlers::new().on("work", move |job: Job| {
        let mut side_effects = side_effects.clone();
        async move {
            let _: i64 = redis::cmd("INCR")
                .arg(format!("fixture:executions:{}", job.id()))
                .query_async(&mut side_effects)
                .await?;
            let ms = job.data()["ms"].as_u64().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, JobError>(serde_json::json!({ "id": job.id() }))
        }
    });
    let handlers = handlers.on("fail", |job: Job| async move {
        let reason = job.data()["reason"].as_str().unwrap_or_default().to_owned();
        Err::<serde_json::Value, _>(JobError::fatal(reason))
    });
    match run_from_env(handlers).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("worker_test_fixture: {err}");
            ExitCode::FAILURE
        }
    }
}
