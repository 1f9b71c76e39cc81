//! A worker whose Redis is not up yet (it boots on another host, or systemd started the worker
//! first) waits for it the way the API does, instead of exiting and counting on a restart; and a
//! handler whose Redis restarts under it goes on once Redis is back.

use crate::worker_support;

use std::time::Duration;

use serde_json::json;
use stackr_kit::worker::{self, Handlers, Job, JobError, Producer, QueueConfig, RunningWorker};
use stackr_testkit::TempRedis;
use worker_support::*;

fn greeter() -> Handlers {
    Handlers::new().on("greet", |_job: Job| async {
        Ok::<_, JobError>(json!("hello"))
    })
}

/// A job added now completes on `running`, which is then shut down.
async fn runs_a_job(running: RunningWorker, queue: &QueueConfig) {
    let id = Producer::new(queue.clone())
        .add("greet", json!({}))
        .await
        .unwrap();
    let jobs = node_wait_finished(queue, &[id], Duration::from_secs(60));
    running.shutdown().await.unwrap();
    assert_eq!(jobs[0]["state"], "completed", "{:#}", jobs[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_started_before_its_redis_waits_for_it_then_runs_jobs() {
    let mut redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "late");
    redis.kill();

    let starting = tokio::spawn(worker::start(
        fast_worker_config(queue.clone(), 1),
        greeter(),
    ));
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(
        !starting.is_finished(),
        "the worker gave up before its Redis came up: {:?}",
        starting.await.unwrap().err()
    );

    let _redis = tokio::task::spawn_blocking(move || {
        redis.start_again();
        redis
    })
    .await
    .unwrap();
    let running = starting
        .await
        .unwrap()
        .expect("the worker starts once its Redis answers");
    runs_a_job(running, &queue).await;
}

/// Waiting is for a Redis that is not up yet; a wrong password will not get better, so the
/// worker fails at once and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_a_wrong_redis_password_fails_at_once_naming_it() {
    let redis = TempRedis::start_with_password(Some("right-password"));
    let wrong_url = format!("redis://:wrong-password@127.0.0.1:{}", redis.port());
    let queue = queue_config(&wrong_url, "core");

    let started = std::time::Instant::now();
    let failed = worker::start(fast_worker_config(queue, 1), greeter()).await;
    let took = started.elapsed();

    let message = failed.err().expect("the worker must not start").to_string();
    assert!(
        took < Duration::from_secs(5),
        "failing took {took:?}: it waited for nothing"
    );
    // Redis's own refusal of the password (RESP3's HELLO answers WRONGPASS).
    assert!(message.contains("WRONGPASS"), "{message}");
    assert!(
        !message.contains("wrong-password"),
        "the password was printed: {message}"
    );
}

/// A Redis that restarts with data loads it before it serves commands, answering `LOADING`
/// meanwhile; a worker started then waits for the load instead of failing on its first command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_started_while_its_redis_loads_its_data_waits_for_it() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "loading");
    let mut conn = redis_conn(&redis.url()).await;
    let filler = "for i = 1, 10000 do redis.call('SET', 'filler:' .. i, i) end";
    let () = redis::cmd("EVAL")
        .arg(filler)
        .arg(0)
        .query_async(&mut conn)
        .await
        .unwrap();
    let () = redis::cmd("SAVE").query_async(&mut conn).await.unwrap();
    drop(conn);

    // 10,000 keys, each loaded after a pause: about 2 s of loading (the pause is at least 10 µs
    // and, as sleeps go, often 200), answering commands between chunks.
    let _redis = tokio::task::spawn_blocking(move || {
        let mut redis = redis;
        redis.start_again_with(&[
            "--key-load-delay",
            "10",
            "--loading-process-events-interval-bytes",
            "1024",
        ]);
        redis
    })
    .await
    .unwrap();
    let mut conn = redis_conn(&queue.redis_url).await;
    let ping: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
    let still_loading = ping.as_ref().err().map(redis::RedisError::kind)
        == Some(redis::ErrorKind::Server(
            redis::ServerErrorKind::BusyLoading,
        ));
    assert!(
        still_loading,
        "the premise: Redis is loading, but PING gave {ping:?}"
    );

    let running = worker::start(fast_worker_config(queue.clone(), 1), greeter())
        .await
        .expect("the worker starts once its Redis has loaded its data");
    runs_a_job(running, &queue).await;
}

/// The wait ends when it says it does: a Redis that comes up late and then hangs (accepts
/// connections, answers nothing) does not stretch an attempt begun near the end of the wait past
/// it, where systemd's start timeout would take over with a less useful message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_redis_hangs_near_the_end_of_the_wait_gives_up_when_the_wait_ends() {
    let port = stackr_testkit::silent_after(stackr_kit::STARTUP_WAIT - Duration::from_secs(3));
    let queue = queue_config(&format!("redis://127.0.0.1:{port}"), "hangs");

    let started = std::time::Instant::now();
    let failed = worker::start(fast_worker_config(queue, 1), greeter()).await;
    let took = started.elapsed();

    let message = failed
        .err()
        .expect("a Redis that never answers cannot start a worker")
        .to_string();
    assert!(message.contains("start-up wait"), "{message}");
    assert!(
        took < stackr_kit::STARTUP_WAIT + Duration::from_secs(2),
        "gave up after {took:?}, well past the start-up wait of {:?}",
        stackr_kit::STARTUP_WAIT
    );
}

/// A Redis host still booting when the wait ends refuses every connection: the message says the
/// wait ran out, with the last refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_redis_refuses_connections_all_through_the_wait_gives_up_naming_the_wait() {
    let port = stackr_testkit::free_port();
    let queue = queue_config(&format!("redis://127.0.0.1:{port}"), "refused");

    let started = std::time::Instant::now();
    let failed = worker::start(fast_worker_config(queue, 1), greeter()).await;
    let took = started.elapsed();

    let message = failed
        .err()
        .expect("a port nobody listens on cannot start a worker")
        .to_string();
    assert!(took >= stackr_kit::STARTUP_WAIT, "gave up after {took:?}");
    assert!(message.contains("start-up wait"), "{message}");
    assert!(message.contains("the last attempt"), "{message}");
}

/// What a handler does once Redis has restarted under it.
#[derive(Clone, Copy)]
enum AfterTheRestart {
    /// Completes at once, without a command of its own.
    Completes,
    /// Logs a line, reports progress, completes.
    LogsAndCompletes,
    /// Fails for good, at once.
    Fails,
}

/// Runs one job whose handler waits while Redis restarts ([`restart`]), then does `after`;
/// returns the job as Node sees it once finished.
async fn one_job_across_a_redis_restart(after: AfterTheRestart) -> serde_json::Value {
    let redis = persisted_redis();
    let queue = queue_config(&redis.url(), "restart");
    let started = std::sync::Arc::new(tokio::sync::Notify::new());
    let go_on = std::sync::Arc::new(tokio::sync::Notify::new());
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handlers = {
        let (started, go_on, runs) = (started.clone(), go_on.clone(), runs.clone());
        Handlers::new().on("restarted", move |mut job: Job| {
            let (started, go_on, runs) = (started.clone(), go_on.clone(), runs.clone());
            async move {
                if runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0 {
                    return Err(JobError::fatal("the handler ran a second time"));
                }
                started.notify_one();
                go_on.notified().await;
                match after {
                    AfterTheRestart::Completes => Ok(json!("done")),
                    AfterTheRestart::LogsAndCompletes => {
                        job.log("after the restart").await?;
                        job.progress(json!(50)).await?;
                        Ok::<_, JobError>(json!("done"))
                    }
                    AfterTheRestart::Fails => Err(JobError::fatal("failed after the restart")),
                }
            }
        })
    };
    let mut config = fast_worker_config(queue.clone(), 1);
    // The default's: no stalled check runs into the dropped connection before the job's own
    // commands do.
    config.stalled_interval = Duration::from_secs(30);
    let running = worker::start(config, handlers).await.unwrap();
    let id = Producer::new(queue.clone())
        .add("restarted", json!({}))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), started.notified())
        .await
        .expect("the handler starts");
    let redis = restart(redis).await;
    go_on.notify_one();
    let returned = std::time::Instant::now();
    let jobs = node_wait_finished(&queue, &[id], Duration::from_secs(60));
    // Its lock (5 s) expired and a stalled check ran it again, by then.
    assert!(
        returned.elapsed() < Duration::from_secs(4),
        "the job finished {:?} after its handler returned: {:#}",
        returned.elapsed(),
        jobs[0]
    );
    running.shutdown().await.unwrap();
    drop(redis);
    jobs[0].clone()
}

/// The handler returns once Redis is back: the completion, the first command on the worker's
/// connection since Redis dropped it, goes through, as on Node's worker (lost, the job would
/// run a second time once its lock expired).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_completed_after_a_redis_restart_completes_once() {
    let job = one_job_across_a_redis_restart(AfterTheRestart::Completes).await;
    assert_eq!(job["state"], "completed", "{job:#}");
    assert_eq!(job["returnvalue"], "done", "{job:#}");
    assert_eq!(job["attemptsMade"], 1, "{job:#}");
}

/// The handler's `log`, the first command on a connection Redis dropped, goes through once
/// Redis is back, as it does on Node's worker (its client queues commands while it connects
/// again): the job completes with its log line and progress recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_logs_across_a_redis_restart() {
    let job = one_job_across_a_redis_restart(AfterTheRestart::LogsAndCompletes).await;
    assert_eq!(job["state"], "completed", "{job:#}");
    assert_eq!(job["logs"]["logs"], json!(["after the restart"]), "{job:#}");
    assert_eq!(job["progress"], 50, "{job:#}");
}

/// The handler fails at once: the failure's reason and stack, recorded in Node's format on a
/// connection Redis dropped, are recorded once Redis is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_after_a_redis_restart_is_recorded_in_nodes_format() {
    let job = one_job_across_a_redis_restart(AfterTheRestart::Fails).await;
    assert_eq!(job["state"], "failed", "{job:#}");
    assert_eq!(job["failedReason"], "failed after the restart", "{job:#}");
    assert_eq!(
        first_lines(&job["stacktrace"]),
        ["UnrecoverableError: failed after the restart"],
        "{job:#}"
    );
}

/// Redis restarts while the worker waits for jobs; the first job after it is one whose options
/// the worker reads itself (`attempts: "2"`, which bullmq-official cannot read): that read, the
/// first command on a connection Redis dropped, waits for Redis instead of failing the attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_job_after_a_redis_restart_runs_once_and_completes() {
    let redis = persisted_redis();
    let queue = queue_config(&redis.url(), "after-restart");
    let running = worker::start(fast_worker_config(queue.clone(), 1), greeter())
        .await
        .unwrap();
    let redis = restart(redis).await;
    let ids = node_add(
        &queue,
        json!([{ "name": "greet", "data": {}, "opts": { "attempts": "2" } }]),
    );
    let jobs = node_wait_finished(&queue, &ids, Duration::from_secs(60));
    running.shutdown().await.unwrap();
    drop(redis);
    let job = &jobs[0];
    assert_eq!(job["state"], "completed", "{job:#}");
    assert_eq!(job["attemptsMade"], 1, "{job:#}");
}

/// The worker fixture (concurrency 1, shutdown grace `grace_ms`) running a 60 s job on
/// `redis`'s queue "core"; returns the fixture and the job's id once the job runs.
async fn fixture_running_a_long_job(
    redis: &stackr_testkit::TempRedis,
    grace_ms: &str,
) -> (QueueConfig, KillOnDrop, String) {
    let queue = queue_config(&redis.url(), "core");
    let id = Producer::new(queue.clone())
        .add("work", json!({ "ms": 60_000 }))
        .await
        .unwrap();
    let env = [
        ("WORKER_CONCURRENCY", "1"),
        ("WORKER_SHUTDOWN_GRACE_MS", grace_ms),
    ];
    let child = KillOnDrop(fixture_command(&queue, &env).spawn().unwrap());
    let conn = redis_conn(&redis.url()).await;
    eventually(Duration::from_secs(60), "the job running", || {
        let (mut conn, id) = (conn.clone(), id.clone());
        async move {
            at_least(
                fixture_executions(&mut conn, &id).await as usize,
                1,
                "executions",
            )
        }
    })
    .await;
    (queue, child, id)
}

/// Redis restarts while a long job runs and is back well before the worker is stopped: handing
/// the job back at the end of the grace period, the first command on the worker's connection
/// since the restart, goes through (lost, the job would stay active, its lock held, until a
/// stalled check took it back and counted a stall).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_handed_back_after_a_redis_restart_goes_back_to_wait() {
    let redis = persisted_redis();
    let (queue, mut child, id) = fixture_running_a_long_job(&redis, "500").await;
    let redis = restart(redis).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    sigterm(&child.0);
    let status = wait_exit(&mut child.0, Duration::from_secs(60));
    assert!(status.success(), "worker exited with {status}");
    let seen = node_inspect(&queue, &[id]);
    drop(redis);
    assert_eq!(seen["jobs"][0]["state"], "waiting", "{seen:#}");
}

/// Redis goes away (a restart) just after SIGTERM and is back shortly after the grace period
/// ends, when the job is handed back: the hand-back is made once Redis is back, and the job is
/// in wait when the worker has stopped, with the one stall a hand-back counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_handed_back_while_redis_restarts_goes_back_to_wait() {
    let redis = persisted_redis();
    let (queue, mut child, id) = fixture_running_a_long_job(&redis, "1500").await;
    sigterm(&child.0);
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Down from 0.7 s to 2.2 s after SIGTERM: across the end of the grace period.
    let redis = restart_down_for(redis, Duration::from_millis(1500)).await;
    let status = wait_exit(&mut child.0, Duration::from_secs(60));
    assert!(status.success(), "worker exited with {status}");
    let seen = node_inspect(&queue, std::slice::from_ref(&id));
    let mut conn = redis_conn(&redis.url()).await;
    let stalls: Option<u32> =
        redis::AsyncCommands::hget(&mut conn, format!("bull:core:{id}"), "stc")
            .await
            .unwrap();
    drop(redis);
    assert_eq!(seen["jobs"][0]["state"], "waiting", "{seen:#}");
    assert_eq!(stalls, Some(1), "the hand-back counted once: {seen:#}");
}
