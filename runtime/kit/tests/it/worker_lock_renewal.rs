//! Lock renewal: a job that runs far longer than the lock duration keeps its lock, so another
//! worker's stalled check never takes it away and it runs exactly once, also when its handler
//! blocks its thread and every other thread of the runtime, and until Redis has run its
//! completion. (That the same check does recover a job whose lock is *not* renewed is shown by
//! worker_crash_recovery.rs.)

use crate::worker_support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use serde_json::{json, Value};
use stackr_kit::worker::{self, Handlers, Job, JobError, Producer, QueueConfig, WorkerConfig};
use stackr_testkit::{StallingProxy, TempRedis};
use worker_support::*;

fn counting_handlers(runs: Arc<AtomicUsize>, ms: u64) -> Handlers {
    Handlers::new().on("long", move |_job: Job| {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, JobError>(Value::Null)
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_longer_than_its_lock_runs_once_while_another_worker_checks_for_stalls() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let mut conn = redis_conn(&redis.url()).await;
    let runs = Arc::new(AtomicUsize::new(0));

    // Lock 2 s (renewed every 1 s), stalled check every 0.5 s, job 6 s: without renewal the lock
    // would expire after 2 s and the second worker would recover and re-run the job.
    let config = || locked_config(queue.clone(), 1, Duration::from_millis(2_000));
    let first = worker::start(config(), counting_handlers(runs.clone(), 6_000))
        .await
        .unwrap();
    let id = Producer::new(queue.clone())
        .add("long", json!({}))
        .await
        .unwrap();
    eventually(Duration::from_secs(60), "job started", || {
        let runs = runs.clone();
        async move { at_least(runs.load(Ordering::SeqCst), 1, "runs") }
    })
    .await;
    let second = worker::start(config(), counting_handlers(runs.clone(), 6_000))
        .await
        .unwrap();

    let jobs = node_wait_finished(&queue, std::slice::from_ref(&id), Duration::from_secs(60));
    first.shutdown().await.unwrap();
    second.shutdown().await.unwrap();

    assert_eq!(jobs[0]["state"], "completed");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the job ran more than once: its lock was lost"
    );
    assert_eq!(
        stalls(&mut conn, &id).await,
        None,
        "the job was declared stalled"
    );
}

/// Lock 2 s (renewed every 1 s), handlers sleeping 6 s on their thread.
const LOCK: Duration = Duration::from_millis(2_000);
const BLOCKED_FOR: Duration = Duration::from_millis(6_000);
/// Threads of the runtime the blocked worker is started from (a worker binary's `#[tokio::main]`),
/// and its concurrency: as many blocked handlers as that runtime has threads.
const THREADS: usize = 2;

fn blocking_handlers(runs: Arc<AtomicUsize>) -> Handlers {
    Handlers::new().on("block", move |_job: Job| {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(BLOCKED_FOR);
            Ok::<_, JobError>(json!("blocked worker"))
        }
    })
}

/// Starts a worker from a multi-threaded runtime of `THREADS` threads of its own, as a worker
/// binary's `#[tokio::main]` on a `THREADS`-core machine, and shuts it down gracefully when
/// `stop` fires.
fn worker_on_own_runtime(
    config: WorkerConfig,
    handlers: Handlers,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(THREADS)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let running = worker::start(config, handlers).await.unwrap();
            let _ = stop.await;
            running.shutdown().await.unwrap();
        });
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_blocking_every_runtime_thread_keep_their_locks() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let mut conn = redis_conn(&redis.url()).await;
    let runs = Arc::new(AtomicUsize::new(0));

    let blocked_config = locked_config(queue.clone(), THREADS, LOCK);
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let blocked = worker_on_own_runtime(blocked_config, blocking_handlers(runs.clone()), stopped);
    let producer = Producer::new(queue.clone());
    let mut ids = Vec::new();
    for _ in 0..THREADS {
        ids.push(producer.add("block", json!({})).await.unwrap());
    }
    eventually(Duration::from_secs(60), "every job started", || {
        let runs = runs.clone();
        async move { at_least(runs.load(Ordering::SeqCst), THREADS, "runs") }
    })
    .await;

    // Another worker, on this test's runtime, checks for stalled jobs every 0.5 s: a job whose
    // lock expires while its handler blocks is taken back and run again here.
    let mut checker_config = locked_config(queue.clone(), 1, LOCK);
    checker_config.stalled_interval = Duration::from_millis(500);
    let checker_handlers = Handlers::new().on("block", {
        let runs = runs.clone();
        move |_job: Job| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok::<_, JobError>(json!("checker"))
            }
        }
    });
    let checker = worker::start(checker_config, checker_handlers)
        .await
        .unwrap();

    let jobs = node_wait_finished(&queue, &ids, Duration::from_secs(60));
    stop.send(()).unwrap();
    tokio::task::spawn_blocking(move || blocked.join().unwrap())
        .await
        .unwrap();
    checker.shutdown().await.unwrap();

    for (id, job) in ids.iter().zip(&jobs) {
        assert_eq!(job["state"], "completed", "{job:#}");
        assert_eq!(
            job["returnvalue"], "blocked worker",
            "job {id} was taken from the blocked worker: {job:#}"
        );
        assert_eq!(
            stalls(&mut conn, id).await,
            None,
            "job {id} was declared stalled"
        );
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        THREADS,
        "a job ran more than once: its lock was lost while its handler blocked"
    );
}

/// A job fetched just before a handler blocked the queue thread waits, unseen, while its lock
/// (taken in Redis at the fetch) expires and a stalled check gives it to another worker. When the
/// thread is free again it must not run a second time here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_lost_its_lock_while_waiting_for_a_blocked_thread_does_not_run_again() {
    // Should the late job run before the block begins all the same (its fetch sent, run and
    // answered within one of the gate handler's yields), the case under test did not arise, and
    // that attempt is set up again.
    const ATTEMPTS: usize = 5;
    for attempt in 1..=ATTEMPTS {
        match late_job_behind_a_blocked_thread().await {
            LateJob::RanBeforeTheBlock => {
                eprintln!("attempt {attempt}: the late job ran before the block; again");
            }
            LateJob::Runs(runs) => {
                assert_eq!(
                    runs, 1,
                    "the late job ran twice: once where a stalled check sent it, once where it waited"
                );
                return;
            }
        }
    }
    panic!("in {ATTEMPTS} attempts the late job always ran before the queue thread blocked");
}

/// A worker configuration with `concurrency` and a lock of `lock`.
fn locked_config(queue: QueueConfig, concurrency: usize, lock: Duration) -> WorkerConfig {
    let mut config = fast_worker_config(queue, concurrency);
    config.lock_duration = lock;
    config
}

/// How many times a stalled check took job `id` back (BullMQ's `stc`): `None` if never.
async fn stalls(conn: &mut redis::aio::MultiplexedConnection, id: &str) -> Option<u32> {
    conn.hget(format!("bull:core:{id}"), "stc").await.unwrap()
}

/// A handler that counts its runs in `runs` and returns `by`.
fn counting(
    runs: Arc<AtomicUsize>,
    by: &'static str,
) -> impl Fn(Job) -> std::future::Ready<Result<Value, JobError>> + Clone {
    move |_job: Job| {
        runs.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(json!(by)))
    }
}

/// A second worker, checking for stalled jobs every 0.3 s: it takes back any job whose `lock`
/// expired and runs it with `handlers`.
async fn stalled_checker(
    queue: &QueueConfig,
    lock: Duration,
    handlers: Handlers,
) -> worker::RunningWorker {
    let mut config = locked_config(queue.clone(), 1, lock);
    config.stalled_interval = Duration::from_millis(300);
    worker::start(config, handlers).await.unwrap()
}

/// Whether Redis holds `count` active jobs, or comes to within `wait`: asked over a blocking
/// connection, so that the thread waits without polling anything else.
fn active_jobs_reach_within(conn: &mut redis::Connection, count: usize, wait: Duration) -> bool {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let active: usize = redis::cmd("LLEN")
            .arg("bull:core:active")
            .query(conn)
            .unwrap();
        if active >= count || std::time::Instant::now() >= deadline {
            return active >= count;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

enum LateJob {
    /// The blocked worker ran it before its thread blocked: the case under test did not arise.
    RanBeforeTheBlock,
    /// How many times it ran, on both workers, when it was still waiting as the thread blocked.
    Runs(usize),
}

async fn late_job_behind_a_blocked_thread() -> LateJob {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let producer = Producer::new(queue.clone());
    let gate = producer.add("gate", json!({})).await.unwrap();
    let late_runs = Arc::new(AtomicUsize::new(0));
    let gate_started = Arc::new(AtomicUsize::new(0));
    let blocking = Arc::new(AtomicBool::new(false));
    let ran_before_block = Arc::new(AtomicBool::new(false));

    let lock = Duration::from_millis(1_000);
    // Concurrency 2: the gate job's handler blocks the queue thread three locks long as soon as
    // Redis has moved the late job (added once the gate job runs) to the active jobs, which takes
    // its lock: its fetch has been sent and run, and its reply not read yet. The handler looks
    // from a blocking connection of its own, so nothing else on the queue thread is polled
    // between that look and the block; it yields only while the fetch is still to be sent.
    let handlers = Handlers::new()
        .on("gate", {
            let started = gate_started.clone();
            let blocking = blocking.clone();
            let late_runs = late_runs.clone();
            let url = redis.url();
            move |_job: Job| {
                let started = started.clone();
                let blocking = blocking.clone();
                let late_runs = late_runs.clone();
                let url = url.clone();
                async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    let mut observer = redis::Client::open(url)
                        .and_then(|client| client.get_connection())
                        .unwrap();
                    // (Or the late job ran already: the attempt is then set up again.)
                    while late_runs.load(Ordering::SeqCst) == 0
                        && !active_jobs_reach_within(&mut observer, 2, Duration::from_millis(50))
                    {
                        tokio::task::yield_now().await;
                    }
                    blocking.store(true, Ordering::SeqCst);
                    std::thread::sleep(lock * 3);
                    Ok::<_, JobError>(json!("gate"))
                }
            }
        })
        .on("late", {
            let count = counting(late_runs.clone(), "blocked worker");
            let blocking = blocking.clone();
            let ran_before_block = ran_before_block.clone();
            move |job: Job| {
                if !blocking.load(Ordering::SeqCst) {
                    ran_before_block.store(true, Ordering::SeqCst);
                }
                count(job)
            }
        });
    let blocked = worker::start(locked_config(queue.clone(), 2, lock), handlers)
        .await
        .unwrap();
    eventually(Duration::from_secs(60), "the gate job started", || {
        let started = gate_started.clone();
        async move { at_least(started.load(Ordering::SeqCst), 1, "gate runs") }
    })
    .await;
    let late = producer.add("late", json!({})).await.unwrap();
    eventually(Duration::from_secs(60), "the queue thread blocked", || {
        let blocking = blocking.clone();
        async move { at_least(usize::from(blocking.load(Ordering::SeqCst)), 1, "blocks") }
    })
    .await;

    // Started only now, so that it cannot take the late job from the waiting ones itself.
    let checker = stalled_checker(
        &queue,
        lock,
        Handlers::new().on("late", counting(late_runs.clone(), "checker")),
    )
    .await;

    let ids = [gate, late];
    let jobs = node_wait_finished(&queue, &ids, Duration::from_secs(60));
    // Past the block: the blocked worker has seen the late job by now.
    tokio::time::sleep(lock * 3).await;
    blocked.shutdown().await.unwrap();
    checker.shutdown().await.unwrap();

    assert_eq!(jobs[0]["returnvalue"], "gate", "{:#}", jobs[0]);
    if ran_before_block.load(Ordering::SeqCst) {
        return LateJob::RanBeforeTheBlock;
    }
    assert_eq!(jobs[1]["state"], "completed", "{:#}", jobs[1]);
    let mut conn = redis_conn(&redis.url()).await;
    let stalled = stalls(&mut conn, &ids[1]).await;
    assert_eq!(
        stalled,
        Some(1),
        "the late job was not taken back from the blocked worker by a stalled check: {:#}",
        jobs[1]
    );
    LateJob::Runs(late_runs.load(Ordering::SeqCst))
}

/// A job whose handler returned just before another handler blocked the queue thread cannot
/// send its completion until the block ends. Its lock must still be renewed meanwhile, or a
/// stalled check gives the finished job to another worker and it runs a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_job_whose_completion_waits_for_a_blocked_thread_keeps_its_lock() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let producer = Producer::new(queue.clone());
    let gate = producer.add("gate", json!({})).await.unwrap();
    let quick_runs = Arc::new(AtomicUsize::new(0));
    let quick_finished = Arc::new(tokio::sync::Notify::new());

    let lock = Duration::from_millis(1_000);
    let quick = |by: &'static str| {
        let count = counting(quick_runs.clone(), by);
        let finished = quick_finished.clone();
        move |job: Job| {
            finished.notify_one();
            count(job)
        }
    };
    // Concurrency 2: the gate job waits until the quick job's handler has returned, then blocks
    // the thread three locks long. Woken by that handler, the gate task runs before the
    // connection's task that would send the quick job's completion.
    let handlers = Handlers::new()
        .on("gate", {
            let finished = quick_finished.clone();
            move |_job: Job| {
                let finished = finished.clone();
                async move {
                    finished.notified().await;
                    std::thread::sleep(lock * 3);
                    Ok::<_, JobError>(json!("gate"))
                }
            }
        })
        .on("quick", quick("blocked worker"));
    let blocked = worker::start(locked_config(queue.clone(), 2, lock), handlers)
        .await
        .unwrap();
    let mut conn = redis_conn(&redis.url()).await;
    eventually(Duration::from_secs(60), "the gate job started", || {
        let mut conn = conn.clone();
        async move {
            let active: usize = conn.llen("bull:core:active").await.unwrap();
            at_least(active, 1, "active jobs")
        }
    })
    .await;
    let quick_id = producer.add("quick", json!({})).await.unwrap();
    eventually(Duration::from_secs(60), "the quick job ran", || {
        let runs = quick_runs.clone();
        async move { at_least(runs.load(Ordering::SeqCst), 1, "quick runs") }
    })
    .await;

    // Started only now, so that the quick job's first run is the blocked worker's.
    let checker =
        stalled_checker(&queue, lock, Handlers::new().on("quick", quick("checker"))).await;

    let ids = [gate, quick_id];
    let jobs = node_wait_finished(&queue, &ids, Duration::from_secs(60));
    blocked.shutdown().await.unwrap();
    checker.shutdown().await.unwrap();

    assert_eq!(jobs[0]["returnvalue"], "gate", "{:#}", jobs[0]);
    assert_eq!(jobs[1]["returnvalue"], "blocked worker", "{:#}", jobs[1]);
    let stalled = stalls(&mut conn, &ids[1]).await;
    assert_eq!(stalled, None, "the finished job was declared stalled");
    assert_eq!(
        quick_runs.load(Ordering::SeqCst),
        1,
        "the finished job ran again"
    );
}

/// A large completion can still be on its way to Redis when another handler blocks the queue
/// thread: the rest of it is written only once the thread is free. The finished job's lock must
/// be renewed until Redis has run that completion, or a stalled check gives the job to another
/// worker and it runs a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_job_whose_large_completion_is_still_being_written_keeps_its_lock() {
    large_completion_behind_a_blocked_thread(Scripts::Loaded).await;
}

/// The same when Redis no longer holds the completion's script (it restarted, or its scripts
/// were flushed): the client sends the completion again, whole, once Redis has answered
/// `NOSCRIPT`, and it is that second sending that is still being written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_job_whose_completion_is_sent_again_after_noscript_keeps_its_lock() {
    large_completion_behind_a_blocked_thread(Scripts::Flushed).await;
}

/// Whether Redis holds BullMQ's scripts when the large job's completion is sent.
#[derive(PartialEq)]
enum Scripts {
    Loaded,
    Flushed,
}

async fn large_completion_behind_a_blocked_thread(scripts: Scripts) {
    const LARGE_RESULT: usize = 16 << 20;
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    // The blocked worker reaches Redis through a proxy that stops reading a connection for 2 s
    // once it has sent 4 MiB of the completion; with the script flushed, of the completion's
    // second sending, and for 0.3 s during the first, long enough for the lock's release to be
    // asked for behind it.
    let held_back = match scripts {
        Scripts::Loaded => vec![(4 << 20, Duration::from_secs(2))],
        Scripts::Flushed => vec![
            (4 << 20, Duration::from_millis(300)),
            (LARGE_RESULT + (4 << 20), Duration::from_secs(2)),
        ],
    };
    let proxy = Arc::new(StallingProxy::start(redis.port(), &held_back));
    let through_proxy = queue_config(&format!("redis://127.0.0.1:{}", proxy.port()), "core");
    let producer = Producer::new(queue.clone());
    let large_runs = Arc::new(AtomicUsize::new(0));
    let large_finished = Arc::new(tokio::sync::Notify::new());
    let received_by_block_end = Arc::new(AtomicUsize::new(0));

    let lock = Duration::from_millis(2_000);
    // Concurrency 2: the gate job waits until the large job's handler has returned, leaves the
    // queue thread 0.3 s (time enough for any release of the large job's lock that does not
    // wait for Redis), waits until the proxy holds the completion back for the last time, then
    // blocks the thread three locks long.
    let redis_url = redis.url();
    let handlers = Handlers::new()
        .on("warm", |_job: Job| {
            std::future::ready(Ok::<_, JobError>(Value::Null))
        })
        .on("gate", {
            let finished = large_finished.clone();
            let proxy = proxy.clone();
            let held_back = held_back.clone();
            let received_by_block_end = received_by_block_end.clone();
            move |_job: Job| {
                let finished = finished.clone();
                let proxy = proxy.clone();
                let held_back = held_back.clone();
                let received_by_block_end = received_by_block_end.clone();
                async move {
                    finished.notified().await;
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    while proxy.stalls() < held_back.len() {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    std::thread::sleep(lock * 3);
                    received_by_block_end.store(proxy.received(), Ordering::SeqCst);
                    Ok::<_, JobError>(json!("gate"))
                }
            }
        })
        .on("large", {
            let runs = large_runs.clone();
            let finished = large_finished.clone();
            let flush = scripts == Scripts::Flushed;
            move |_job: Job| {
                runs.fetch_add(1, Ordering::SeqCst);
                if flush {
                    let mut direct = redis::Client::open(redis_url.as_str())
                        .and_then(|client| client.get_connection())
                        .unwrap();
                    redis::cmd("SCRIPT").arg("FLUSH").exec(&mut direct).unwrap();
                }
                finished.notify_one();
                std::future::ready(Ok::<_, JobError>(json!("x".repeat(LARGE_RESULT))))
            }
        });
    let blocked = worker::start(locked_config(through_proxy, 2, lock), handlers)
        .await
        .unwrap();
    // A first job, so that Redis holds the completion's script.
    let warm = producer.add("warm", json!({})).await.unwrap();
    node_wait_finished(&queue, &[warm], Duration::from_secs(60));
    let gate = producer.add("gate", json!({})).await.unwrap();
    let large = producer.add("large", json!({})).await.unwrap();
    eventually(Duration::from_secs(60), "the large job ran", || {
        let runs = large_runs.clone();
        async move { at_least(runs.load(Ordering::SeqCst), 1, "large runs") }
    })
    .await;
    // Started only now, so that the large job's first run is the blocked worker's.
    let checker = stalled_checker(
        &queue,
        lock,
        Handlers::new().on("large", counting(large_runs.clone(), "checker")),
    )
    .await;

    let ids = [gate, large];
    let jobs = node_wait_finished(&queue, &ids, Duration::from_secs(60));
    blocked.shutdown().await.unwrap();
    checker.shutdown().await.unwrap();

    assert_eq!(
        proxy.stalls(),
        held_back.len(),
        "the completion was not held back"
    );
    // The case under test: the rest of the completion waited for the thread, not in the
    // kernel's buffers (which would have passed it on during the block).
    let after_block = proxy.received() - received_by_block_end.load(Ordering::SeqCst);
    assert!(
        after_block >= 1 << 20,
        "only {after_block} bytes reached the proxy after the block: the completion was not \
         waiting for the thread"
    );
    assert_eq!(jobs[0]["returnvalue"], "gate", "{:#}", jobs[0]);
    let result = jobs[1]["returnvalue"].as_str().unwrap_or_default();
    assert_eq!(
        result.len(),
        LARGE_RESULT,
        "the large job's result is not the blocked worker's: {:.80}",
        result
    );
    let mut conn = redis_conn(&redis.url()).await;
    let stalled = stalls(&mut conn, &ids[1]).await;
    assert_eq!(stalled, None, "the finished job was declared stalled");
    assert_eq!(
        large_runs.load(Ordering::SeqCst),
        1,
        "the finished job ran again"
    );
}
