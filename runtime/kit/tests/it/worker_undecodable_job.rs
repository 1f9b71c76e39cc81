//! A job whose hash holds bytes that are not UTF-8 (written by another client, or by hand into
//! the queue's keys). The fetch reads such a job with the bad bytes replaced, as Node's client
//! does, and its handler runs: its lock must then be renewed like any other's, or a stalled
//! check takes the job back while it runs and it runs twice.

use crate::worker_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use serde_json::{json, Value};
use stackr_kit::worker::{self, Handlers, Job, JobError, Producer};
use stackr_testkit::TempRedis;
use worker_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_with_non_utf8_bytes_keeps_its_lock_and_runs_once() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let mut conn = redis_conn(&redis.url()).await;
    let runs = Arc::new(AtomicUsize::new(0));

    // Added while no worker runs, then given a byte that is not UTF-8 in its data.
    let id = Producer::new(queue.clone())
        .add("long", json!({ "note": "x" }))
        .await
        .unwrap();
    let job_key = format!("bull:core:{id}");
    let _: () = conn
        .hset(&job_key, "data", b"{\"note\":\"\xff\"}".to_vec())
        .await
        .unwrap();

    // Lock 2 s (renewed every 1 s), stalled check every 0.5 s, handler 5 s: a lock that is not
    // renewed expires during the run and the stalled check hands the job out again.
    let mut config = fast_worker_config(queue.clone(), 2);
    config.lock_duration = Duration::from_millis(2_000);
    config.stalled_interval = Duration::from_millis(500);
    let handlers = Handlers::new().on("long", {
        let runs = runs.clone();
        move |_job: Job| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5_000)).await;
                Ok::<_, JobError>(Value::Null)
            }
        }
    });
    let running = worker::start(config, handlers).await.unwrap();
    eventually(Duration::from_secs(60), "job finished", || {
        let conn = conn.clone();
        let (id, runs) = (id.clone(), runs.clone());
        async move {
            match in_set(conn.clone(), "completed", id.clone()).await {
                Ok(()) => Ok(()),
                Err(active) => in_set(conn, "failed", id)
                    .await
                    .map_err(|_| format!("{active}, runs {}", runs.load(Ordering::SeqCst))),
            }
        }
    })
    .await;
    running.shutdown().await.unwrap();

    let stalled: Option<u32> = conn.hget(&job_key, "stc").await.unwrap();
    let reason: Option<String> = conn.hget(&job_key, "failedReason").await.unwrap();
    assert_eq!(
        (runs.load(Ordering::SeqCst), stalled, reason),
        (1, None, None),
        "(runs, stalls, failedReason): the job's lock was not renewed"
    );
}
