//! A job whose hash is deleted while it runs (a cleanup script, an operator, another component
//! with access to the queue's Redis): its completion finds no job and is refused by the scripts.
//! The worker goes on with the other jobs and stops within its grace period; the job id, left in
//! the active list, is taken back by a stalled check, as on Node's worker (the same scripts),
//! and fails loudly on its next run, having neither a name nor data, instead of running a
//! handler with defaults.

use crate::worker_support;

use std::time::Duration;

use redis::AsyncCommands;
use serde_json::{json, Value};
use stackr_kit::worker::{self, Handlers, Job, JobError, JobOptions, Producer};
use stackr_testkit::TempRedis;
use worker_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_deleted_while_it_runs_holds_up_nothing() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let producer = Producer::new(queue.clone());
    let conn = redis_conn(&redis.url()).await;
    let options = JobOptions::new().attempts(3);
    let vanishing = producer
        .add_with("vanishes", json!({}), options)
        .await
        .unwrap();
    let url = redis.url();
    let handlers = Handlers::new()
        .on("vanishes", move |job: Job| {
            let url = url.clone();
            async move {
                let mut conn = redis_conn(&url).await;
                let _: () = conn.del(format!("bull:core:{}", job.id())).await.unwrap();
                Ok::<_, JobError>(json!("done"))
            }
        })
        .on("welcome", |_: Job| async { Ok::<_, JobError>(Value::Null) });
    let mut config = fast_worker_config(queue, 2);
    config.lock_duration = Duration::from_millis(1_000);
    let running = worker::start(config, handlers).await.unwrap();
    let after = producer.add("welcome", json!({})).await.unwrap();
    eventually(
        Duration::from_secs(30),
        "the job added after it completed",
        || in_set(conn.clone(), "completed", after.clone()),
    )
    .await;
    eventually(
        Duration::from_secs(30),
        "the deleted job failed for good",
        || in_set(conn.clone(), "failed", vanishing.clone()),
    )
    .await;
    tokio::time::timeout(Duration::from_secs(15), running.shutdown())
        .await
        .expect("shutdown finishes within the grace period")
        .unwrap();
    let reason: String = conn
        .clone()
        .hget(format!("bull:core:{vanishing}"), "failedReason")
        .await
        .unwrap();
    assert!(
        reason.starts_with(r#"no handler for job name "" on queue "core""#),
        "{reason}"
    );
    let active: usize = conn.clone().llen("bull:core:active").await.unwrap();
    assert_eq!(active, 0, "jobs left active");
}
