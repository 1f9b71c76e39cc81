//! A job's stored data (`data`) is whatever its hash says. Node's worker reads a missing or empty
//! one as `{}` and never runs a job whose data is not JSON (it cannot read the job). This worker
//! hands the first to its handler as `{}` too, and fails the second at once, naming why, rather
//! than running its handler with data the producer never gave it.

use crate::worker_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use serde_json::json;
use stackr_kit::worker::{self, Handlers, Job, JobError, JobOptions, Producer};
use stackr_testkit::TempRedis;
use worker_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_that_is_not_json_fails_the_job_and_missing_data_is_an_empty_object() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let producer = Producer::new(queue.clone());
    let mut conn = redis_conn(&redis.url()).await;
    let add = |data| {
        let producer = &producer;
        async move {
            let options = JobOptions::new().attempts(3);
            producer.add_with("echo", data, options).await.unwrap()
        }
    };
    let garbled = add(json!({ "userId": "u_1" })).await;
    let _: () = conn
        .hset(format!("bull:core:{garbled}"), "data", "{\"userId\": \"u_")
        .await
        .unwrap();
    let missing = add(json!({ "userId": "u_2" })).await;
    let _: () = conn
        .hdel(format!("bull:core:{missing}"), "data")
        .await
        .unwrap();
    let empty = add(json!({ "userId": "u_3" })).await;
    let _: () = conn
        .hset(format!("bull:core:{empty}"), "data", "")
        .await
        .unwrap();
    let null = add(json!(null)).await;

    let runs = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new().on("echo", {
        let runs = runs.clone();
        move |job: Job| {
            runs.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok::<_, JobError>(job.data().clone()))
        }
    });
    let running = worker::start(fast_worker_config(queue, 2), handlers)
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "the garbled job failed", || {
        in_set(conn.clone(), "failed", garbled.clone())
    })
    .await;
    for id in [&missing, &empty, &null] {
        eventually(Duration::from_secs(30), "the other jobs completed", || {
            in_set(conn.clone(), "completed", id.clone())
        })
        .await;
    }
    running.shutdown().await.unwrap();

    let field = |id: &String, name: &'static str| {
        let mut conn = conn.clone();
        let key = format!("bull:core:{id}");
        async move { conn.hget::<_, _, Option<String>>(key, name).await.unwrap() }
    };
    let reason = field(&garbled, "failedReason").await.unwrap_or_default();
    assert!(
        reason.starts_with("the job's data is not JSON: "),
        "failedReason: {reason:?}"
    );
    assert_eq!(
        field(&garbled, "atm").await.as_deref(),
        Some("1"),
        "retried"
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "the garbled job's handler ran"
    );
    for id in [&missing, &empty] {
        assert_eq!(field(id, "returnvalue").await.as_deref(), Some("{}"));
    }
    assert_eq!(field(&null, "returnvalue").await.as_deref(), Some("null"));
}
