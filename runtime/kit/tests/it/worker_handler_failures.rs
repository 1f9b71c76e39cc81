//! How handler failures reach the queue: a panic, wherever in the handler, is a failed,
//! retryable attempt (the job does not hang in active); data that does not match the handler's
//! type fails at once.

use crate::worker_support;

use std::time::Duration;

use serde_json::json;
use stackr_kit::worker::{self, Handlers, Job, JobError, JobOptions, Producer};
use stackr_testkit::TempRedis;
use worker_support::*;

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Welcome {
    user_id: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_a_failed_attempt_and_is_retried() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let handlers = Handlers::new().on("explodes", |job: Job| async move {
        if job.attempts_made() == 0 {
            panic!("boom on the first attempt");
        }
        Ok::<_, JobError>(json!("recovered"))
    });
    let running = worker::start(fast_worker_config(queue.clone(), 2), handlers)
        .await
        .unwrap();
    let id = Producer::new(queue.clone())
        .add_with("explodes", json!({}), JobOptions::new().attempts(2))
        .await
        .unwrap();
    let jobs = node_wait_finished(&queue, &[id], Duration::from_secs(60));
    running.shutdown().await.unwrap();

    assert_eq!(jobs[0]["state"], "completed", "{:#}", jobs[0]);
    assert_eq!(jobs[0]["attemptsMade"], 2);
    assert_eq!(jobs[0]["returnvalue"], "recovered");
    assert_eq!(
        jobs[0]["failedReason"],
        "the handler panicked: boom on the first attempt"
    );
}

/// A handler is any closure returning a future: one that panics before it returns its future
/// (in code outside an `async` block) is a failed attempt too, and leaves nothing behind that
/// holds up shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_panicking_before_its_future_is_a_failed_attempt_and_is_retried() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let handlers = Handlers::new().on("explodes", |job: Job| {
        if job.attempts_made() == 0 {
            panic!("boom before the future");
        }
        std::future::ready(Ok::<_, JobError>(json!("recovered")))
    });
    let running = worker::start(fast_worker_config(queue.clone(), 2), handlers)
        .await
        .unwrap();
    let id = Producer::new(queue.clone())
        .add_with("explodes", json!({}), JobOptions::new().attempts(2))
        .await
        .unwrap();
    let jobs = node_wait_finished(&queue, &[id], Duration::from_secs(60));
    let stopped = tokio::time::timeout(Duration::from_secs(20), running.shutdown()).await;

    assert_eq!(jobs[0]["state"], "completed", "{:#}", jobs[0]);
    assert_eq!(jobs[0]["attemptsMade"], 2);
    assert_eq!(
        jobs[0]["failedReason"],
        "the handler panicked: boom before the future"
    );
    assert!(stopped.is_ok(), "shutdown still waits for the panicked job");
}

/// Panics on drop: a handler holding one panics when it is stopped at an await.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("dropped before the work was done");
        }
    }
}

/// A job still running when shutdown's grace period ends is handed back and its handler's future
/// dropped: a panic in that drop must not keep the job from going back to the queue, nor hold up
/// shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_panics_as_it_is_dropped_at_shutdown_is_still_handed_back() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let conn = redis_conn(&redis.url()).await;
    let handlers = Handlers::new().on("long", |_job: Job| async move {
        let _guard = PanicsOnDrop;
        tokio::time::sleep(Duration::from_secs(600)).await;
        Ok::<_, JobError>(json!("done"))
    });
    let mut config = fast_worker_config(queue.clone(), 1);
    config.shutdown_grace = Duration::from_millis(500);
    let running = worker::start(config, handlers).await.unwrap();
    let id = Producer::new(queue.clone())
        .add("long", json!({}))
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "the job started", || {
        let mut conn = conn.clone();
        async move {
            use redis::AsyncCommands;
            let active: Vec<String> = conn.lrange("bull:core:active", 0, -1).await.unwrap();
            at_least(active.len(), 1, "active jobs")
        }
    })
    .await;
    let stopped = tokio::time::timeout(Duration::from_secs(20), running.shutdown()).await;
    assert!(
        stopped.is_ok(),
        "shutdown still waits for the handed-back job"
    );
    let mut conn = conn.clone();
    let waiting: Vec<String> = redis::AsyncCommands::lrange(&mut conn, "bull:core:wait", 0, -1)
        .await
        .unwrap();
    assert_eq!(waiting, [id], "the job was not handed back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_that_does_not_fit_the_handler_fails_without_retries() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let handlers = Handlers::new().on("welcome", |job: Job| async move {
        let welcome: Welcome = job.parse()?;
        Ok::<_, JobError>(json!({ "welcomed": welcome.user_id }))
    });
    let running = worker::start(fast_worker_config(queue.clone(), 2), handlers)
        .await
        .unwrap();
    let id = Producer::new(queue.clone())
        .add_with(
            "welcome",
            json!({ "userId": 42 }),
            JobOptions::new().attempts(5),
        )
        .await
        .unwrap();
    let jobs = node_wait_finished(&queue, std::slice::from_ref(&id), Duration::from_secs(60));
    running.shutdown().await.unwrap();

    assert_eq!(jobs[0]["state"], "failed");
    assert_eq!(
        jobs[0]["attemptsMade"], 1,
        "a fatal error must not be retried"
    );
    let reason = jobs[0]["failedReason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("job \"welcome\" ({id}) has data that does not match the handler's type: missing field `user_id`")),
        "{reason}"
    );
    assert_eq!(jobs[0]["stacktrace"].as_array().map(Vec::len), Some(1));
    assert!(jobs[0]["stacktrace"][0]
        .as_str()
        .unwrap()
        .starts_with("UnrecoverableError: "));
}

/// An exponential backoff of 0 ms retries at once, as often as the attempts allow (on Node
/// `round(2^(n-1) × 0)` is 0 for every n): past 64 attempts bullmq-official's `2^(n-1)`
/// overflowed, which a debug build (the dev stack's) answered by panicking outside the handler,
/// and the job hung in active.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exponential_backoff_of_zero_retries_past_sixty_four_attempts() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let handlers = Handlers::new().on("flaky", |_job: Job| async move {
        Err::<serde_json::Value, _>(JobError::retryable("still failing"))
    });
    let running = worker::start(fast_worker_config(queue.clone(), 1), handlers)
        .await
        .unwrap();
    let ids = node_add(
        &queue,
        json!([{
            "name": "flaky",
            "data": {},
            "opts": { "attempts": 70, "backoff": { "type": "exponential", "delay": 0 } }
        }]),
    );
    let jobs = node_wait_finished(&queue, &ids, Duration::from_secs(90));
    running.shutdown().await.unwrap();
    assert_eq!(jobs[0]["state"], "failed", "{:#}", jobs[0]);
    assert_eq!(jobs[0]["attemptsMade"], 70);
}

/// A handler's reason can quote the job's data, which a client may have sent: the worker logs it
/// quoted, so a line break in it cannot forge a line of the log (the fixture's `fail` handler
/// fails with the reason it is given).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_reason_forges_no_log_line() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let forged = "2030-01-01T00:00:00.000000Z  INFO stackr_kit: forged";
    let mut fixture = KillOnDrop(
        fixture_command(&queue, &[])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let id = Producer::new(queue.clone())
        .add_with(
            "fail",
            json!({ "reason": format!("no such item: x\n{forged}") }),
            JobOptions::new(),
        )
        .await
        .unwrap();
    let jobs = node_wait_finished(&queue, &[id], Duration::from_secs(60));
    assert_eq!(jobs[0]["state"], "failed", "{:#}", jobs[0]);
    sigterm(&fixture.0);
    wait_exit(&mut fixture.0, Duration::from_secs(30));
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut fixture.0.stderr.take().unwrap(), &mut logs).unwrap();
    assert!(logs.contains("job attempt failed"), "{logs}");
    assert!(!logs.lines().any(|l| l.starts_with(forged)), "{logs}");
}

/// A job's id is its adder's to choose (Node's `Queue.add` and [`Producer`] refuse only `:` in
/// it), and bullmq-official logs ids as they are: a job whose lock was lost while it ran (here
/// taken away by hand) is refused its completion, and the error line about it carried a line
/// break of the id into the log as a line of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_id_forges_no_log_line() {
    use std::io::BufRead;

    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let mut conn = redis_conn(&redis.url()).await;
    let forged = "2030-01-01T00.00.00.000000Z  INFO stackr_kit forged";
    let mut fixture = KillOnDrop(
        fixture_command(&queue, &[])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stderr = fixture.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let id = Producer::new(queue.clone())
        .add_with(
            "work",
            json!({ "ms": 1_500 }),
            JobOptions::new().job_id(format!("x\n{forged}")),
        )
        .await
        .unwrap();
    eventually(Duration::from_secs(60), "the job runs", || {
        let mut conn = conn.clone();
        let id = id.clone();
        async move { at_least(fixture_executions(&mut conn, &id).await as usize, 1, "runs") }
    })
    .await;
    let _: () = redis::AsyncCommands::del(&mut conn, format!("bull:core:{id}:lock"))
        .await
        .unwrap();
    let mut logs = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !logs
        .iter()
        .any(|l: &String| l.contains("job attempt failed"))
    {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        logs.push(
            lines
                .recv_timeout(left)
                .expect("the refused completion is logged"),
        );
    }
    sigterm(&fixture.0);
    wait_exit(&mut fixture.0, Duration::from_secs(30));
    logs.extend(lines.try_iter());
    assert!(!logs.iter().any(|l| l.starts_with(forged)), "{logs:#?}");
}
