//! A job's stored attempt count (`atm`) is whatever its hash says: one at the largest value a
//! count can hold still completes or fails like any other, instead of crashing its processing
//! and staying in the active list, where it would hold up shutdown.

use crate::worker_support;

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::AsyncCommands;
use serde_json::{json, Value};
use stackr_kit::worker::{self, Handlers, Job, JobError, JobOptions, Producer};
use stackr_testkit::TempRedis;
use worker_support::*;

/// `Ok` once job `id` of queue `core` is in its `set` (`completed`, `failed`).
async fn in_set(mut conn: MultiplexedConnection, set: &str, id: String) -> Result<(), String> {
    let score: Option<f64> = conn.zscore(format!("bull:core:{set}"), &id).await.unwrap();
    let active: Vec<String> = conn.lrange("bull:core:active", 0, -1).await.unwrap();
    score.map(|_| ()).ok_or(format!("active jobs {active:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_attempt_count_is_at_its_maximum_still_finishes() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let producer = Producer::new(queue.clone());
    let mut conn = redis_conn(&redis.url()).await;
    let mut ids = Vec::new();
    for name in ["succeeds", "fails"] {
        let options = JobOptions::new().attempts(3);
        let id = producer.add_with(name, json!({}), options).await.unwrap();
        let _: () = conn
            .hset(format!("bull:core:{id}"), "atm", u32::MAX.to_string())
            .await
            .unwrap();
        ids.push(id);
    }
    let [succeeds, fails] = [ids[0].clone(), ids[1].clone()];

    let handlers = Handlers::new()
        .on("succeeds", |_: Job| async {
            Ok::<_, JobError>(json!("done"))
        })
        .on("fails", |_: Job| async {
            Err::<Value, _>(JobError::retryable("no luck"))
        });
    let running = worker::start(fast_worker_config(queue, 2), handlers)
        .await
        .unwrap();
    eventually(
        Duration::from_secs(30),
        "the succeeding job completed",
        || in_set(conn.clone(), "completed", succeeds.clone()),
    )
    .await;
    eventually(
        Duration::from_secs(30),
        "the failing job failed for good (no attempt is left)",
        || in_set(conn.clone(), "failed", fails.clone()),
    )
    .await;
    tokio::time::timeout(Duration::from_secs(30), running.shutdown())
        .await
        .expect("shutdown finishes")
        .unwrap();
    assert_eq!(conn.llen::<_, usize>("bull:core:active").await.unwrap(), 0);
    let reason: String = conn
        .hget(format!("bull:core:{fails}"), "failedReason")
        .await
        .unwrap();
    assert_eq!(reason, "no luck");
}
