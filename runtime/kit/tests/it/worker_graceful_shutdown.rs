//! SIGTERM on the worker process (what systemd and process-compose send): no new job is
//! fetched, in-flight jobs finish within the grace period, and jobs still running when it ends
//! are handed back to the queue without an attempt being counted.

use crate::worker_support;

use std::time::{Duration, Instant};

use redis::AsyncCommands;
use serde_json::{json, Value};
use stackr_kit::worker::{self, Handlers, Job, JobError, JobOptions, Producer, QueueConfig};
use stackr_testkit::TempRedis;
use worker_support::*;

async fn add_work(producer: &Producer, count: usize, ms: u64) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..count {
        ids.push(producer.add("work", json!({ "ms": ms })).await.unwrap());
    }
    ids
}

/// A fresh Redis with `count` "work" jobs of `ms` each queued on "core".
struct QueuedWork {
    _redis: TempRedis,
    _producer: Producer,
    queue: QueueConfig,
    conn: redis::aio::MultiplexedConnection,
    ids: Vec<String>,
}

async fn queued_work(count: usize, ms: u64) -> QueuedWork {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let conn = redis_conn(&redis.url()).await;
    let producer = Producer::new(queue.clone());
    let ids = add_work(&producer, count, ms).await;
    QueuedWork {
        _redis: redis,
        _producer: producer,
        queue,
        conn,
        ids,
    }
}

/// Waits until the fixture has started `expected` executions across `ids`.
async fn wait_until_started(
    conn: &redis::aio::MultiplexedConnection,
    ids: &[String],
    expected: u32,
    timeout: Duration,
    what: &str,
) {
    eventually(timeout, what, || {
        let mut conn = conn.clone();
        let ids = ids.to_vec();
        async move {
            let mut started = 0;
            for id in &ids {
                started += fixture_executions(&mut conn, id).await;
            }
            if started == expected {
                Ok(())
            } else {
                Err(format!("{started} executions started"))
            }
        }
    })
    .await;
}

/// Sends SIGTERM and waits (up to `timeout`) for the exit; returns the status and when the
/// signal was sent.
fn sigterm_and_wait(
    child: &mut std::process::Child,
    timeout: Duration,
) -> (std::process::ExitStatus, Instant) {
    let signalled = Instant::now();
    sigterm(child);
    let status = wait_exit(child, timeout);
    (status, signalled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_in_flight_jobs_finish_and_fetches_nothing_new() {
    // Bind the guards by name so Redis and the producer live to the end of the test.
    let QueuedWork {
        _redis,
        _producer,
        queue,
        mut conn,
        ids,
    } = queued_work(5, 1_500).await;

    let env = [
        ("WORKER_CONCURRENCY", "3"),
        ("WORKER_SHUTDOWN_GRACE_MS", "120000"),
    ];
    let mut child = fixture_command(&queue, &env).spawn().unwrap();
    wait_until_started(&conn, &ids, 3, Duration::from_secs(60), "3 jobs running").await;
    let (status, signalled) = sigterm_and_wait(&mut child, Duration::from_secs(120));
    let took = signalled.elapsed();

    assert!(status.success(), "worker exited with {status}");
    // Far below the grace period: the worker leaves as soon as its jobs are done.
    assert!(took < Duration::from_secs(60), "shutdown took {took:?}");
    let completed: Vec<String> = conn.zrange("bull:core:completed", 0, -1).await.unwrap();
    let waiting: Vec<String> = conn.lrange("bull:core:wait", 0, -1).await.unwrap();
    assert_eq!(completed.len(), 3, "the 3 in-flight jobs finish");
    assert_eq!(
        waiting.len(),
        2,
        "the 2 queued jobs are not fetched during shutdown"
    );
    for id in &waiting {
        assert_eq!(fixture_executions(&mut conn, id).await, 0);
    }
    assert_eq!(conn.llen::<_, usize>("bull:core:active").await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_still_running_after_the_grace_period_are_handed_back_and_run_next() {
    // Bind the guards by name so Redis and the producer live to the end of the test.
    let QueuedWork {
        _redis,
        _producer,
        queue,
        mut conn,
        ids,
    } = queued_work(2, 60_000).await;

    let env = [
        ("WORKER_CONCURRENCY", "2"),
        ("WORKER_SHUTDOWN_GRACE_MS", "300"),
    ];
    let mut child = fixture_command(&queue, &env).spawn().unwrap();
    wait_until_started(&conn, &ids, 2, Duration::from_secs(60), "both jobs running").await;
    let (status, signalled) = sigterm_and_wait(&mut child, Duration::from_secs(60));
    assert!(status.success(), "worker exited with {status}");
    // Far below the jobs' 60 s: the worker did not wait for them past its grace period.
    assert!(
        signalled.elapsed() < Duration::from_secs(30),
        "took {:?}",
        signalled.elapsed()
    );

    // Back in wait, unlocked, no attempt counted: visible to Node as plain waiting jobs.
    let seen = node_inspect(&queue, &ids);
    for job in seen["jobs"].as_array().unwrap() {
        assert_eq!(job["state"], "waiting", "{job:#}");
        assert_eq!(job["attemptsMade"], 0, "{job:#}");
    }
    for id in &ids {
        assert!(!conn
            .exists::<_, bool>(format!("bull:core:{id}:lock"))
            .await
            .unwrap());
    }

    // The next worker runs them (quickly this time) and they complete on their first attempt.
    let handlers = Handlers::new().on("work", |job: Job| async move {
        Ok::<_, JobError>(json!({ "id": job.id(), "second_run": true }))
    });
    let running = worker::start(fast_worker_config(queue.clone(), 2), handlers)
        .await
        .unwrap();
    let jobs = node_wait_finished(&queue, &ids, Duration::from_secs(60));
    running.shutdown().await.unwrap();
    for job in &jobs {
        assert_eq!(job["state"], "completed");
        assert_eq!(job["attemptsMade"], 1);
        assert_eq!(job["returnvalue"]["second_run"], Value::Bool(true));
    }
}

/// Redis gone while a job runs (its server crashed, its host went down): the worker cannot hand
/// the job back, and says so. It still stops soon after its grace period, well inside a service
/// manager's stop timeout, instead of waiting for its client to give up; the job stays active in
/// Redis, where the next worker's stalled check takes it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_gone_a_job_not_handed_back_does_not_hold_the_stop() {
    let QueuedWork {
        _redis: mut redis,
        _producer,
        queue,
        conn,
        ids,
    } = queued_work(1, 60_000).await;
    let env = [
        ("WORKER_CONCURRENCY", "1"),
        ("WORKER_SHUTDOWN_GRACE_MS", "300"),
        ("RUST_LOG", "info"),
    ];
    let mut child = fixture_command(&queue, &env)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_started(&conn, &ids, 1, Duration::from_secs(60), "the job running").await;
    redis.kill();
    let (status, signalled) = sigterm_and_wait(&mut child, Duration::from_secs(120));
    let took = signalled.elapsed();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert!(status.success(), "worker exited with {status}:\n{log}");
    // The grace period, 7 s for the last Redis calls, 1 s each for the wake-up and the events:
    // about 9 s, where bullmq-official's client alone would try for 30.
    assert!(
        took < Duration::from_secs(20),
        "the stop took {took:?}:\n{log}"
    );
    assert!(
        log.contains("could not hand") && log.contains("stalled check"),
        "the log says the job was not handed back and what becomes of it:\n{log}"
    );
}

/// A prioritized job handed back goes to the queue's priority set, which by itself wakes no
/// worker: another worker already waiting for jobs takes it at once, not when its wait ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handed_back_prioritized_job_is_taken_at_once_by_a_waiting_worker() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let conn = redis_conn(&redis.url()).await;
    let producer = Producer::new(queue.clone());
    let opts = JobOptions::default().priority(1);
    let id = producer
        .add_with("work", json!({ "ms": 60_000 }), opts)
        .await
        .unwrap();
    let ids = [id];
    let env = [
        ("WORKER_CONCURRENCY", "1"),
        ("WORKER_SHUTDOWN_GRACE_MS", "300"),
    ];
    let mut child = fixture_command(&queue, &env).spawn().unwrap();
    wait_until_started(&conn, &ids, 1, Duration::from_secs(60), "the job running").await;

    let handlers = Handlers::new().on("work", |_job: Job| async move {
        Ok::<_, JobError>(json!({ "second_run": true }))
    });
    let waiting = worker::start(fast_worker_config(queue.clone(), 1), handlers)
        .await
        .unwrap();
    wait_until_blocked_on_empty_queue(&conn).await;
    let (status, _) = sigterm_and_wait(&mut child, Duration::from_secs(60));
    assert!(status.success(), "worker exited with {status}");
    let handed_back = Instant::now();

    let jobs = node_wait_finished(&queue, &ids, Duration::from_secs(60));
    let taken_after = handed_back.elapsed();
    waiting.shutdown().await.unwrap();
    assert_eq!(
        jobs[0]["returnvalue"]["second_run"],
        Value::Bool(true),
        "{:#}",
        jobs[0]
    );
    // The waiting worker's blocking read lasts 5 s.
    assert!(
        taken_after < Duration::from_secs(2),
        "the waiting worker took the job {taken_after:?} after it was handed back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_worker_stops_promptly() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let conn = redis_conn(&redis.url()).await;
    let mut child = fixture_command(&queue, &[]).spawn().unwrap();
    wait_until_blocked_on_empty_queue(&conn).await;
    let (status, signalled) = sigterm_and_wait(&mut child, Duration::from_secs(60));
    assert!(status.success());
    // The blocking wait lasts 5 s (the worker's drain delay); stopping must not sit it out.
    assert!(
        signalled.elapsed() < Duration::from_secs(4),
        "took {:?}",
        signalled.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misconfigured_worker_exits_non_zero_naming_the_variable() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_worker_test_fixture"))
        .env_clear()
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("STACKR_QUEUE is not set"), "{stderr}");
}

/// systemd (`Type=notify`) orders units after the worker once it says READY=1: connected to its
/// Redis and consuming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_tells_systemd_when_it_is_ready() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let notify = stackr_testkit::NotifySocket::bind();
    let mut child = KillOnDrop(
        fixture_command(&queue, &[])
            .env("NOTIFY_SOCKET", notify.path())
            .spawn()
            .unwrap(),
    );
    notify.wait_ready(Duration::from_secs(60));
    let (status, _) = sigterm_and_wait(&mut child.0, Duration::from_secs(60));
    assert!(status.success());
}

/// A handler in [`Job::blocking`] work when the grace period ends is left to finish: that work
/// cannot be stopped, and handed back, the job would run on another worker at the same time.
/// The job completes once, on the worker that started it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_in_blocking_work_at_the_end_of_the_grace_period_finishes_there() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let started = Arc::new(tokio::sync::Notify::new());
    let first_runs = Arc::new(AtomicUsize::new(0));
    let first = {
        let (started, first_runs) = (started.clone(), first_runs.clone());
        Handlers::new().on("work", move |job: Job| {
            let (started, first_runs) = (started.clone(), first_runs.clone());
            async move {
                let done = job
                    .blocking(move || {
                        started.notify_one();
                        // Past the grace period by more than the shutdown then gives its last
                        // Redis calls (7 s), which must not count this work.
                        std::thread::sleep(Duration::from_secs(9));
                        first_runs.fetch_add(1, Ordering::SeqCst) + 1
                    })
                    .await?;
                Ok::<_, JobError>(json!({ "by": "first", "runs": done }))
            }
        })
    };
    let mut config = fast_worker_config(queue.clone(), 1);
    config.shutdown_grace = Duration::from_millis(300);
    let running = worker::start(config, first).await.unwrap();
    let id = Producer::new(queue.clone())
        .add("work", json!({}))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), started.notified())
        .await
        .expect("the blocking work starts");

    let second_runs = Arc::new(AtomicUsize::new(0));
    let second = {
        let second_runs = second_runs.clone();
        Handlers::new().on("work", move |_job: Job| {
            let second_runs = second_runs.clone();
            async move {
                second_runs.fetch_add(1, Ordering::SeqCst);
                Ok::<_, JobError>(json!({ "by": "second" }))
            }
        })
    };
    let waiting = worker::start(fast_worker_config(queue.clone(), 1), second)
        .await
        .unwrap();
    let report = running.shutdown().await.unwrap();
    let jobs = node_wait_finished(&queue, std::slice::from_ref(&id), Duration::from_secs(60));
    waiting.shutdown().await.unwrap();
    assert_eq!(jobs[0]["state"], "completed", "{:#}", jobs[0]);
    assert_eq!(jobs[0]["returnvalue"]["by"], "first", "{:#}", jobs[0]);
    assert_eq!(jobs[0]["returnvalue"]["runs"], 1, "{:#}", jobs[0]);
    assert_eq!(first_runs.load(Ordering::SeqCst), 1);
    assert_eq!(
        second_runs.load(Ordering::SeqCst),
        0,
        "the second worker ran it too"
    );
    assert!(!report.handed_back, "{report:?}");
}

/// Captured logs (process-compose, journald, a file) carry no terminal colour codes, and say
/// that the worker started, as the API's do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captured_logs_are_plain_text() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let conn = redis_conn(&redis.url()).await;
    let child = fixture_command(&queue, &[])
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_blocked_on_empty_queue(&conn).await;
    sigterm(&child);
    let output = child.wait_with_output().unwrap();
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(logs.contains("worker started"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "colour codes in: {logs:?}");
}

/// Two workers wait on one queue and the later one to block stops. Redis wakes the
/// longest-waiting client first, so the stopping worker's wake-up goes to the other one, and a
/// job added just after goes to the stopping worker, which does not fetch it any more: the
/// other worker must still run it at once, not when its own 5 s blocking read ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_added_while_a_worker_stops_runs_at_once_on_another() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let conn = redis_conn(&redis.url()).await;
    let handlers = || {
        Handlers::new().on("work", |_job: Job| async {
            Ok::<_, JobError>(json!({ "by": "staying" }))
        })
    };
    let staying = worker::start(fast_worker_config(queue.clone(), 1), handlers())
        .await
        .unwrap();
    wait_until_blocked_on_empty_queues(&conn, 1).await;
    let mut stopping = KillOnDrop(fixture_command(&queue, &[]).spawn().unwrap());
    wait_until_blocked_on_empty_queues(&conn, 2).await;
    sigterm(&stopping.0);
    // Time for its wake-up to reach the staying worker, which then blocks again.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        stopping.0.try_wait().unwrap().is_none(),
        "the stopping worker ended before the job was added: nothing tested"
    );
    let added = Instant::now();
    let id = Producer::new(queue.clone())
        .add("work", json!({}))
        .await
        .unwrap();
    let jobs = node_wait_finished(&queue, &[id], Duration::from_secs(30));
    let took = added.elapsed();
    wait_exit(&mut stopping.0, Duration::from_secs(30));
    staying.shutdown().await.unwrap();
    assert_eq!(jobs[0]["returnvalue"]["by"], "staying", "{:#}", jobs[0]);
    assert!(took < Duration::from_secs(2), "the job waited {took:?}");
}

/// A worker asked to stop while it still waits for its Redis at start-up (up to 30 s: a Redis
/// that is down, or still starting) stops at once, as the API does then. It waited out the whole
/// wait before (and, had Redis come up meanwhile, started, fetched jobs and only then stopped):
/// `stackr dev`'s ctrl-c or a unit's stop sat out the wait of every such worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_waiting_for_its_redis_at_start_up_stops_at_once() {
    // A port nothing listens on: connections are refused, which start-up waits out.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let queue = queue_config(&format!("redis://127.0.0.1:{port}"), "core");
    let (stop, stop_requested) = tokio::sync::oneshot::channel::<()>();
    let trigger = async move {
        let _ = stop_requested.await;
    };
    let running = tokio::spawn(worker::run(
        fast_worker_config(queue, 1),
        Handlers::new(),
        trigger,
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let asked = Instant::now();
    stop.send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("run returns")
        .unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "took {:?} to stop ({stopped:?})",
        asked.elapsed()
    );
    assert!(stopped.is_ok(), "{stopped:?}");
}

/// A job whose handler never returns is handed back at every shutdown. Each hand-back counts as
/// a stall, as Node's worker shows it (its `close()` waits, the service manager kills it, the
/// stalled check counts the job): past `maxStalledCount` the job fails with BullMQ's reason
/// instead of coming back at every deploy for ever. Handed back once, it runs again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_handed_back_at_every_shutdown_fails_past_the_stalled_limit() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let mut conn = redis_conn(&redis.url()).await;
    let id = Producer::new(queue.clone())
        .add("hang", json!({}))
        .await
        .unwrap();
    let runs = Arc::new(AtomicU32::new(0));
    let hanging = || {
        let runs = runs.clone();
        Handlers::new().on("hang", move |_job: Job| {
            runs.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<Result<Value, JobError>>()
        })
    };
    let mut config = fast_worker_config(queue.clone(), 1);
    config.shutdown_grace = Duration::from_millis(100);
    let max_stalled = config.max_stalled_count;

    // Each run up to the limit is handed back, and counted.
    for run in 1..=max_stalled + 1 {
        let running = worker::start(config.clone(), hanging()).await.unwrap();
        let started = runs.clone();
        eventually(Duration::from_secs(30), "the handler starts", || {
            let seen = started.load(Ordering::SeqCst);
            async move { at_least(seen as usize, run as usize, "runs") }
        })
        .await;
        let report = running.shutdown().await.unwrap();
        assert!(report.handed_back, "{report:?}");
        let stalled: Option<u32> = conn.hget(format!("bull:core:{id}"), "stc").await.unwrap();
        assert_eq!(stalled, Some(run), "each hand-back is counted as a stall");
        let seen = node_inspect(&queue, std::slice::from_ref(&id));
        assert_eq!(seen["jobs"][0]["state"], "waiting", "{seen:#}");
        assert_eq!(seen["jobs"][0]["attemptsMade"], 0, "{seen:#}");
    }

    // The next worker fails it without running it.
    let running = worker::start(config.clone(), hanging()).await.unwrap();
    let jobs = node_wait_finished(&queue, std::slice::from_ref(&id), Duration::from_secs(30));
    running.shutdown().await.unwrap();
    assert_eq!(jobs[0]["state"], "failed", "{:#}", jobs[0]);
    assert_eq!(
        jobs[0]["failedReason"], "job stalled more than allowable limit",
        "{:#}",
        jobs[0]
    );
    assert_eq!(runs.load(Ordering::SeqCst), max_stalled + 1);
}

/// A job handed back once (a deploy during a long job) runs again and completes; its one
/// hand-back is counted as the stall Node's worker would show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_handed_back_once_runs_again_and_completes() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let mut conn = redis_conn(&redis.url()).await;
    let id = Producer::new(queue.clone())
        .add("long", json!({}))
        .await
        .unwrap();
    let started = std::sync::Arc::new(tokio::sync::Notify::new());
    let first = {
        let started = started.clone();
        Handlers::new().on("long", move |_job: Job| {
            started.notify_one();
            std::future::pending::<Result<Value, JobError>>()
        })
    };
    let mut config = fast_worker_config(queue.clone(), 1);
    config.shutdown_grace = Duration::from_millis(100);
    let running = worker::start(config.clone(), first).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), started.notified())
        .await
        .expect("the handler starts");
    assert!(running.shutdown().await.unwrap().handed_back);
    let stalled: Option<u32> = conn.hget(format!("bull:core:{id}"), "stc").await.unwrap();
    assert_eq!(stalled, Some(1), "the hand-back is counted as a stall");
    // Node's QueueEvents hear of it as of a stall.
    let events: redis::streams::StreamRangeReply =
        conn.xrange_all("bull:core:events").await.unwrap();
    let stalled_events = events
        .ids
        .iter()
        .filter(|entry| {
            entry.get::<String>("event").as_deref() == Some("stalled")
                && entry.get::<String>("jobId").as_deref() == Some(id.as_str())
        })
        .count();
    assert_eq!(stalled_events, 1, "{events:?}");

    let second = Handlers::new().on("long", |_job: Job| async move {
        Ok::<_, JobError>(json!({ "second_run": true }))
    });
    let running = worker::start(config, second).await.unwrap();
    let jobs = node_wait_finished(&queue, std::slice::from_ref(&id), Duration::from_secs(30));
    running.shutdown().await.unwrap();
    assert_eq!(jobs[0]["state"], "completed", "{:#}", jobs[0]);
    assert_eq!(jobs[0]["attemptsMade"], 1, "{:#}", jobs[0]);
    assert_eq!(jobs[0]["returnvalue"]["second_run"], true, "{:#}", jobs[0]);
}
