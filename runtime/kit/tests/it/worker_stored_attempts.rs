//! A job's stored attempt count (`atm`) is whatever its hash says: one at the largest value a
//! count can hold still completes or fails like any other, instead of crashing its processing
//! and staying in the active list, where it would hold up shutdown.

use crate::worker_support;

use std::time::Duration;

use redis::AsyncCommands;
use serde_json::{json, Value};
use stackr_kit::worker::{self, Handlers, Job, JobError, JobOptions, Producer};
use stackr_testkit::TempRedis;
use worker_support::*;

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

/// Node's exponential backoff waits `2^(attemptsMade-1) × delay` after attempt `attemptsMade`;
/// with a stored count written high enough, that wait outgrows what a count of milliseconds
/// holds. Each such job is still retried, after the longest wait there is, instead of
/// crashing its processing (`2^64`, or `2^54 × 1000`) or retrying at once (`2^63`, which
/// wraps around to a negative wait), and the worker still stops within its grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exponential_backoff_past_the_largest_wait_waits_the_largest_wait() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let producer = Producer::new(queue.clone());
    let mut conn = redis_conn(&redis.url()).await;
    let mut ids = Vec::new();
    for (attempts_made, delay) in [(64_u32, 1_u64), (54, 1_000), (63, 1)] {
        let options = JobOptions::new()
            .attempts(100)
            .backoff(worker::Backoff::Exponential(delay));
        let id = producer
            .add_with("fails", json!({}), options)
            .await
            .unwrap();
        let _: () = conn
            .hset(format!("bull:core:{id}"), "atm", attempts_made.to_string())
            .await
            .unwrap();
        ids.push((id, attempts_made));
    }

    let handlers = Handlers::new().on("fails", |_: Job| async {
        Err::<Value, _>(JobError::retryable("no luck"))
    });
    let delayed: Vec<String> = ids.iter().map(|(id, _)| id.clone()).collect();
    run_until_in_set(
        fast_worker_config(queue, 3),
        handlers,
        &conn,
        "delayed",
        &delayed,
    )
    .await;
    for (id, attempts_made) in ids {
        let key = format!("bull:core:{id}");
        let (atm, delay, reason): (u32, String, String) = redis::pipe()
            .hget(&key, "atm")
            .hget(&key, "delay")
            .hget(&key, "failedReason")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(atm, attempts_made + 1, "job {id}: one more attempt counted");
        assert_eq!(delay, i64::MAX.to_string(), "job {id}: the retry's wait");
        assert_eq!(reason, "no luck");
    }
}
