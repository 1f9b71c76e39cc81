//! What our worker and producer leave in Redis, read by Node BullMQ (6.5.1, interop/bullmq) next
//! to what Node's own worker and Queue leave for the same jobs in the same run: failure records,
//! progress, logs and the queue's `meta` hash.

use crate::worker_support;

use std::collections::HashMap;
use std::time::Duration;

use redis::AsyncCommands;
use serde_json::json;
use stackr_kit::worker::{self, Handlers, Job, JobError, Producer};
use stackr_testkit::TempRedis;
use worker_support::*;

/// Node stores `err.message` as `failedReason` and `err.stack` in `stacktrace`: a first line
/// "<ErrorClass>: <message>" and then one "    at <where>" line per frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_records_are_in_nodes_format() {
    let redis = TempRedis::start();
    let jobs = json!([
        { "name": "always-fails", "data": {}, "opts": { "attempts": 2 } },
        { "name": "fatal", "data": {}, "opts": { "attempts": 3 } },
        { "name": "fails-once", "data": {}, "opts": { "attempts": 2 } },
    ]);
    let (by_node, by_rust) = run_on_node_and_ours(&redis.url(), &jobs).await;

    for (node_job, rust_job) in by_node.iter().zip(&by_rust) {
        let context = format!("node: {node_job:#}\nrust: {rust_job:#}");
        assert_eq!(
            node_job["failedReason"], rust_job["failedReason"],
            "{context}"
        );
        let node_stack = stack_entries(&node_job["stacktrace"]);
        let rust_stack = stack_entries(&rust_job["stacktrace"]);
        assert_eq!(node_stack.len(), rust_stack.len(), "{context}");
        assert!(!rust_stack.is_empty(), "{context}");
        for (node_entry, rust_entry) in node_stack.iter().zip(&rust_stack) {
            assert_eq!(
                node_entry.lines().next(),
                rust_entry.lines().next(),
                "{context}"
            );
            for entry in [node_entry, rust_entry] {
                let frames: Vec<&str> = entry.lines().skip(1).collect();
                assert!(!frames.is_empty(), "no frame lines in {entry:?}");
                for frame in frames {
                    let place = frame.strip_prefix("    at ").unwrap_or_default();
                    assert!(
                        !place.is_empty() && !place.starts_with(' '),
                        "{frame:?} is not a frame line like Node's, in {entry:?}"
                    );
                }
            }
        }
    }
}

/// A handler that fails with `?` on an error whose message already includes its cause (redis
/// errors do: "ResponseError: …" over a source "ResponseError: …") records that message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_passed_up_with_question_mark_is_recorded_once() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let conn = redis_conn(&redis.url()).await;
    let mut setup = conn.clone();
    let _: () = setup.set("not-a-number", "x").await.unwrap();
    let expected = setup
        .incr::<_, _, i64>("not-a-number", 1)
        .await
        .unwrap_err()
        .to_string();

    let handlers = Handlers::new().on("count", move |_job: Job| {
        let mut conn = conn.clone();
        async move {
            let n: i64 = conn.incr("not-a-number", 1).await?;
            Ok::<_, JobError>(n)
        }
    });
    let ids = node_add(&queue, json!([{ "name": "count", "data": {} }]));
    let running = worker::start(fast_worker_config(queue.clone(), 1), handlers)
        .await
        .unwrap();
    let jobs = node_wait_finished(&queue, &ids, Duration::from_secs(60));
    running.shutdown().await.unwrap();

    assert_eq!(jobs[0]["failedReason"], expected.as_str(), "{:#}", jobs[0]);
}

/// Progress and log lines a handler records on our worker read back in Node exactly like those
/// a Node processor records, `keepLogs` trimming included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_and_logs_from_our_worker_read_back_in_node_like_nodes_own() {
    let redis = TempRedis::start();
    let jobs = json!([
        { "name": "reports", "data": { "progress": [10, 42.5], "logs": ["one", "two"] } },
        { "name": "reports", "data": { "progress": [{ "step": "copy", "done": 3 }] } },
        { "name": "reports", "data": { "logs": ["a", "b", "c"] }, "opts": { "keepLogs": 2 } },
    ]);
    let (by_node, by_rust) = run_on_node_and_ours(&redis.url(), &jobs).await;

    for (node_job, rust_job) in by_node.iter().zip(&by_rust) {
        let context = format!("node: {node_job:#}\nrust: {rust_job:#}");
        assert_eq!(node_job["state"], "completed", "{context}");
        for field in ["progress", "logs", "returnvalue"] {
            assert_eq!(node_job[field], rust_job[field], "{field} of {context}");
        }
    }
    // The absolute facts, so both sides cannot be wrong the same way.
    assert_eq!(by_rust[0]["progress"], json!(42.5));
    assert_eq!(
        by_rust[0]["logs"],
        json!({ "logs": ["one", "two"], "count": 2 })
    );
    assert_eq!(by_rust[1]["progress"], json!({ "step": "copy", "done": 3 }));
    assert_eq!(
        by_rust[2]["logs"],
        json!({ "logs": ["b", "c"], "count": 2 })
    );
}

/// The queue's `meta` hash after our producer and worker handled a job is the one Node's Queue
/// and Worker leave (`version` is what Node's `queue.getVersion()` reads).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_meta_is_written_like_nodes() {
    let redis = TempRedis::start();
    let mut conn = redis_conn(&redis.url()).await;

    let node_queue = queue_config(&redis.url(), "by-node");
    let node_ids = node_add(&node_queue, json!([{ "name": "welcome", "data": {} }]));
    run_node_worker_until_finished(&node_queue, &node_ids);
    let by_node: HashMap<String, String> = conn.hgetall("bull:by-node:meta").await.unwrap();

    let rust_queue = queue_config(&redis.url(), "by-rust");
    let rust_id = Producer::new(rust_queue.clone())
        .add("welcome", json!({}))
        .await
        .unwrap();
    let running = worker::start(
        fast_worker_config(rust_queue.clone(), 1),
        by_name_handlers(),
    )
    .await
    .unwrap();
    node_wait_finished(&rust_queue, &[rust_id], Duration::from_secs(60));
    running.shutdown().await.unwrap();
    let by_rust: HashMap<String, String> = conn.hgetall("bull:by-rust:meta").await.unwrap();

    assert_eq!(by_node, by_rust, "Node's meta, then ours");
    assert!(
        by_node
            .get("version")
            .is_some_and(|v| v.starts_with("bullmq:")),
        "{by_node:?}"
    );
}
