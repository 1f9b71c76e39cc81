//! Lock renewal: a job that runs far longer than the lock duration keeps its lock, so another
//! worker's stalled check never takes it away and it runs exactly once. (That the same check
//! does recover a job whose lock is *not* renewed is shown by worker_crash_recovery.rs.)

use crate::worker_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use serde_json::{json, Value};
use stackr_kit::worker::{self, Handlers, Job, JobError, Producer};
use stackr_testkit::TempRedis;
use worker_support::*;

fn counting_handlers(runs: Arc<AtomicUsize>, ms: u64) -> Handlers {
    Handlers::new().on("long", move |_job: Job| {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, JobError>(Value::Null)
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_longer_than_its_lock_runs_once_while_another_worker_checks_for_stalls() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let mut conn = redis_conn(&redis.url()).await;
    let runs = Arc::new(AtomicUsize::new(0));

    // Lock 2 s (renewed every 1 s), stalled check every 0.5 s, job 6 s: without renewal the lock
    // would expire after 2 s and the second worker would recover and re-run the job.
    let config = || {
        let mut config = fast_worker_config(queue.clone(), 1);
        config.lock_duration = Duration::from_millis(2_000);
        config
    };
    let first = worker::start(config(), counting_handlers(runs.clone(), 6_000))
        .await
        .unwrap();
    let id = Producer::new(queue.clone())
        .add("long", json!({}))
        .await
        .unwrap();
    eventually(Duration::from_secs(60), "job started", || {
        let runs = runs.clone();
        async move { at_least(runs.load(Ordering::SeqCst), 1, "runs") }
    })
    .await;
    let second = worker::start(config(), counting_handlers(runs.clone(), 6_000))
        .await
        .unwrap();

    let jobs = node_wait_finished(&queue, std::slice::from_ref(&id), Duration::from_secs(60));
    first.shutdown().await.unwrap();
    second.shutdown().await.unwrap();

    assert_eq!(jobs[0]["state"], "completed");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the job ran more than once: its lock was lost"
    );
    let stalled: Option<u32> = conn.hget(format!("bull:core:{id}"), "stc").await.unwrap();
    assert_eq!(stalled, None, "the job was declared stalled");
}
