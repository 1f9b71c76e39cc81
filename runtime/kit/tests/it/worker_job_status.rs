//! `Producer::status`: what the API that enqueued a job can tell about it, read from the queue
//! while a real worker runs it.

use crate::worker_support;

use std::time::{Duration, Instant};

use serde_json::json;
use stackr_kit::worker::{self, Handlers, Job, JobError, JobState, Producer};
use stackr_testkit::TempRedis;
use worker_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_follows_a_job_to_its_result_or_its_failure() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let producer = Producer::new(queue.clone());
    assert_eq!(producer.status("404").await.unwrap(), None, "no such job");

    let ok = producer
        .add("echo", json!({ "message": "hi" }))
        .await
        .unwrap();
    let waiting = producer.status(&ok).await.unwrap().unwrap();
    assert_eq!(waiting.state, JobState::Waiting);
    assert_eq!(waiting.name, "echo");
    assert_eq!(waiting.data, json!({ "message": "hi" }));
    assert_eq!(waiting.return_value, None);

    let bad = producer.add("refuse", json!({})).await.unwrap();
    let handlers = Handlers::new()
        .on("echo", |job: Job| async move {
            Ok::<_, JobError>(json!({ "echo": job.data()["message"] }))
        })
        .on("refuse", |_: Job| async move {
            Err::<(), _>(JobError::fatal("not today"))
        });
    let running = worker::start(fast_worker_config(queue, 2), handlers)
        .await
        .unwrap();
    let finished = |state: JobState| matches!(state, JobState::Completed | JobState::Failed);
    let deadline = Instant::now() + Duration::from_secs(60);
    let (ok, bad) = loop {
        let ok = producer.status(&ok).await.unwrap().unwrap();
        let bad = producer.status(&bad).await.unwrap().unwrap();
        if finished(ok.state) && finished(bad.state) {
            break (ok, bad);
        }
        assert!(
            Instant::now() < deadline,
            "not finished in 60 s: {ok:?} {bad:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    running.shutdown().await.unwrap();

    assert_eq!(ok.state, JobState::Completed);
    assert_eq!(ok.return_value, Some(json!({ "echo": "hi" })));
    assert_eq!(bad.state, JobState::Failed);
    assert_eq!(bad.failed_reason.as_deref(), Some("not today"));
    let shown = serde_json::to_value(&ok).unwrap();
    assert_eq!(shown["state"], "completed");
    assert_eq!(shown["returnValue"], json!({ "echo": "hi" }));
}

/// A caller picks the id it asks about (the scaffold's `GET /jobs/{id}`): one naming a key of
/// the queue's own (`wait`, `events`, `id`, `marker`) is no job, where reading it as a job's
/// hash failed (WRONGTYPE), answered 503 and logged an ERROR, per request, at any signed-in
/// user's will.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_naming_a_key_of_the_queue_is_no_job() {
    let redis = TempRedis::start();
    let producer = Producer::new(queue_config(&redis.url(), "core"));
    let id = producer.add("echo", json!({})).await.unwrap();
    assert!(producer.status(&id).await.unwrap().is_some());
    for key in ["wait", "events", "id", "marker"] {
        assert_eq!(
            producer.status(key).await.map_err(|e| e.to_string()),
            Ok(None),
            "{key}"
        );
    }
}

/// A caller watching a job that is retried sees how many attempts it has had: without them a
/// job failing and waiting for its next attempt looks like one not started yet, and a test of a
/// handler's retries could not tell one attempt from three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_the_attempts_made() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let producer = Producer::new(queue.clone());
    let options = worker::JobOptions::new()
        .attempts(3)
        .backoff(worker::Backoff::Fixed(10));
    let id = producer
        .add_with("flaky", json!({}), options)
        .await
        .unwrap();
    let waiting = producer.status(&id).await.unwrap().unwrap();
    assert_eq!(waiting.attempts_made, 0, "{waiting:?}");
    let handlers = Handlers::new().on("flaky", |job: Job| async move {
        if job.attempts_made() < 2 {
            return Err(JobError::retryable("not yet"));
        }
        Ok(json!({ "attempt": job.attempts_made() + 1 }))
    });
    let running = worker::start(fast_worker_config(queue, 1), handlers)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let status = producer.status(&id).await.unwrap().unwrap();
        if status.state == JobState::Completed {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "not completed in 60 s: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    running.shutdown().await.unwrap();
    assert_eq!(done.return_value, Some(json!({ "attempt": 3 })));
    assert_eq!(done.attempts_made, 3, "{done:?}");
    assert_eq!(serde_json::to_value(&done).unwrap()["attemptsMade"], 3);
}
