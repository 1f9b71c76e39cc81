//! Wire compatibility with the real Node BullMQ (bullmq 6.5.1 from npm, interop/bullmq), on a
//! real redis-server: Node's Queue -> our worker, our Producer -> Node's Worker, and failures and
//! retries looking to Node exactly as when a Node worker produced them.

use crate::worker_support;

use std::time::Duration;

use redis::AsyncCommands;
use serde_json::{json, Value};
use stackr_kit::worker::{self, Backoff, Handlers, Job, JobError, JobOptions, Producer};
use stackr_testkit::TempRedis;
use worker_support::*;

fn echo_handlers() -> Handlers {
    let echo = |job: Job| async move {
        Ok::<_, JobError>(json!({ "by": "rust", "name": job.name(), "data": job.data() }))
    };
    Handlers::new().on("welcome", echo).on("report", echo)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_added_by_node_complete_on_our_worker_with_return_values_visible_to_node() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let ids = node_add(
        &queue,
        json!([
            { "name": "welcome", "data": { "userId": "u_1" } },
            { "name": "report", "data": { "n": [1, 2, 3] }, "opts": { "priority": 3 } },
            { "name": "welcome", "data": { "userId": "u_late" }, "opts": { "delay": 1500 } },
        ]),
    );
    let running = worker::start(fast_worker_config(queue.clone(), 4), echo_handlers())
        .await
        .unwrap();

    let jobs = node_wait_finished(&queue, &ids, Duration::from_secs(60));
    running.shutdown().await.unwrap();

    for job in &jobs {
        assert_eq!(job["state"], "completed", "{job:#}");
        assert_eq!(
            job["returnvalue"],
            json!({ "by": "rust", "name": job["name"], "data": job["data"] })
        );
        assert_eq!(job["attemptsMade"], 1, "{job:#}");
        assert_eq!(job["failedReason"], Value::Null, "{job:#}");
    }
    // The delayed job must not have run before it was due.
    let late = &jobs[2];
    let waited = late["processedOn"].as_u64().unwrap() - late["timestamp"].as_u64().unwrap();
    assert!(
        waited >= 1500,
        "the 1500 ms delayed job ran {waited} ms after being added"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_from_our_producer_complete_on_a_node_worker() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "wallet");
    let producer = Producer::new(queue.clone());
    let plain = producer
        .add("welcome", json!({ "userId": "u_9" }))
        .await
        .unwrap();
    let delayed = producer
        .add_with(
            "reminder",
            json!({ "in": "1s" }),
            JobOptions::new().delay(Duration::from_millis(800)),
        )
        .await
        .unwrap();
    let prioritized = producer
        .add_with(
            "report",
            json!([1, "two"]),
            JobOptions::new().priority(2).attempts(2),
        )
        .await
        .unwrap();
    let ids = vec![plain, delayed, prioritized];

    node("run_worker.js", &["echo", "3"], &queue);

    let jobs = node_wait_finished(&queue, &ids, Duration::from_secs(60));
    let expected = [
        ("welcome", json!({ "userId": "u_9" })),
        ("reminder", json!({ "in": "1s" })),
        ("report", json!([1, "two"])),
    ];
    for (job, (name, data)) in jobs.iter().zip(expected) {
        assert_eq!(job["state"], "completed", "{job:#}");
        assert_eq!(job["name"], name);
        assert_eq!(job["data"], data);
        assert_eq!(
            job["returnvalue"],
            json!({ "by": "node", "name": name, "data": data })
        );
    }
    assert_eq!(jobs[2]["opts"]["attempts"], 2);
    // Stored options of a job added without any: the same as Node's own Queue.add writes.
    let by_node = node_add(&queue, json!([{ "name": "welcome", "data": {} }]));
    let mut conn = redis_conn(&redis.url()).await;
    let mut stored = Vec::new();
    for id in [&ids[0], &by_node[0]] {
        let opts: String = conn
            .hget(format!("bull:wallet:{id}"), "opts")
            .await
            .unwrap();
        stored.push(opts);
    }
    assert_eq!(stored[0], stored[1], "ours, then Node's");
}

/// A bulk add stores each job as Node's own Queue stores it (`attempts: 0` included, which our
/// worker relies on to skip re-reading the options), and Node's worker runs them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_added_in_bulk_by_our_producer_are_stored_as_node_stores_them() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "bulk");
    let producer = Producer::new(queue.clone());
    let ids = producer
        .add_bulk([("first", json!({ "n": 1 })), ("second", json!({ "n": 2 }))])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    let by_node = node_add(&queue, json!([{ "name": "first", "data": {} }]));
    let mut conn = redis_conn(&redis.url()).await;
    let mut stored = Vec::new();
    for id in [&ids[0], &ids[1], &by_node[0]] {
        let opts: String = conn.hget(format!("bull:bulk:{id}"), "opts").await.unwrap();
        stored.push(opts);
    }
    assert_eq!(stored[0], stored[2], "ours, then Node's");
    assert_eq!(stored[1], stored[2], "ours, then Node's");

    node("run_worker.js", &["echo", "3"], &queue);
    let jobs = node_wait_finished(&queue, &ids, Duration::from_secs(60));
    for (job, (name, n)) in jobs.iter().zip([("first", 1), ("second", 2)]) {
        assert_eq!(job["state"], "completed", "{job:#}");
        assert_eq!(job["name"], name);
        assert_eq!(job["data"], json!({ "n": n }));
    }
}

/// Node's view of a failing job processed by a Node worker and by ours must be the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_retried_jobs_look_to_node_as_if_node_had_processed_them() {
    let redis = TempRedis::start();
    let jobs = json!([
        { "name": "always-fails", "data": {}, "opts": { "attempts": 3, "backoff": { "type": "fixed", "delay": 100 } } },
        { "name": "fails-once", "data": {}, "opts": { "attempts": 3, "backoff": { "type": "exponential", "delay": 100 } } },
        { "name": "always-fails", "data": {}, "opts": {} },
    ]);

    // Reference: the same jobs on a Node worker.
    let node_queue = queue_config(&redis.url(), "by-node");
    let node_ids = node_add(&node_queue, jobs.clone());
    run_node_worker_until_finished(&node_queue, &node_ids);
    let by_node = node_wait_finished(&node_queue, &node_ids, Duration::from_secs(60));

    // Ours, with handlers failing the same way.
    let rust_queue = queue_config(&redis.url(), "by-rust");
    let rust_ids = node_add(&rust_queue, jobs);
    let running = worker::start(
        fast_worker_config(rust_queue.clone(), 4),
        by_name_handlers(),
    )
    .await
    .unwrap();
    let by_rust = node_wait_finished(&rust_queue, &rust_ids, Duration::from_secs(60));
    running.shutdown().await.unwrap();

    for (node_job, rust_job) in by_node.iter().zip(&by_rust) {
        let context = format!("node: {node_job:#}\nrust: {rust_job:#}");
        assert_eq!(node_job["state"], rust_job["state"], "{context}");
        assert_eq!(
            node_job["attemptsMade"], rust_job["attemptsMade"],
            "{context}"
        );
        assert_eq!(
            node_job["failedReason"], rust_job["failedReason"],
            "{context}"
        );
        // Node stores err.stack (first line "Error: <message>"); we store that first line.
        assert_eq!(
            first_lines(&node_job["stacktrace"]),
            first_lines(&rust_job["stacktrace"]),
            "{context}"
        );
    }
    // And the absolute facts, so the test cannot pass by both sides being wrong the same way.
    assert_eq!(by_rust[0]["state"], "failed");
    assert_eq!(by_rust[0]["attemptsMade"], 3);
    assert_eq!(by_rust[0]["failedReason"], "failure on attempt 3");
    assert_eq!(by_rust[1]["state"], "completed");
    assert_eq!(by_rust[1]["attemptsMade"], 2);
    assert_eq!(by_rust[1]["failedReason"], "failure on attempt 1");
    assert_eq!(by_rust[2]["state"], "failed");
    assert_eq!(by_rust[2]["attemptsMade"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_job_names_fail_at_once_with_a_reason_naming_the_handlers() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let ids = node_add(
        &queue,
        json!([{ "name": "mystery", "data": {}, "opts": { "attempts": 3 } }]),
    );
    let running = worker::start(fast_worker_config(queue.clone(), 2), echo_handlers())
        .await
        .unwrap();
    let jobs = node_wait_finished(&queue, &ids, Duration::from_secs(60));
    running.shutdown().await.unwrap();

    assert_eq!(jobs[0]["state"], "failed");
    assert_eq!(
        jobs[0]["attemptsMade"], 1,
        "an unknown name must not be retried"
    );
    assert_eq!(
        jobs[0]["failedReason"],
        "no handler for job name \"mystery\" on queue \"core\"; this worker handles: report, welcome"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exponential_backoff_spaces_the_retries() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let producer = Producer::new(queue.clone());
    let attempts_at = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = attempts_at.clone();
    let handlers = Handlers::new().on("flaky", move |_job: Job| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(std::time::Instant::now());
            Err::<Value, _>(JobError::retryable("still down"))
        }
    });
    let running = worker::start(fast_worker_config(queue.clone(), 1), handlers)
        .await
        .unwrap();
    let id = producer
        .add_with(
            "flaky",
            json!({}),
            JobOptions::new()
                .attempts(3)
                .backoff(Backoff::Exponential(300)),
        )
        .await
        .unwrap();
    let jobs = node_wait_finished(&queue, &[id], Duration::from_secs(60));
    running.shutdown().await.unwrap();

    assert_eq!(jobs[0]["attemptsMade"], 3, "{:#}", jobs[0]);
    let at = attempts_at.lock().unwrap().clone();
    assert_eq!(at.len(), 3);
    // Node's exponential backoff: 2^(attempt-1) * delay → 300 ms, then 600 ms.
    let first_gap = at[1] - at[0];
    let second_gap = at[2] - at[1];
    assert!(first_gap >= Duration::from_millis(300), "{first_gap:?}");
    assert!(second_gap >= Duration::from_millis(600), "{second_gap:?}");
    // Loose: only catches a delay that grew without bound (a loaded machine adds seconds).
    assert!(second_gap < Duration::from_secs(10), "{second_gap:?}");
}
