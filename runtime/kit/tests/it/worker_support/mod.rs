//! Helpers shared by the worker tests (`tests/it/worker_*.rs`) and the worker benchmark: the Node
//! BullMQ side (real `bullmq` from npm, pinned in interop/bullmq), queue configs on a real Redis.

mod by_name;
pub use by_name::*;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use stackr_kit::worker::{QueueConfig, WorkerConfig};

/// `runtime/kit/interop/bullmq`, with its node_modules installed (`npm ci`) on first use, so a
/// fresh clone needs nothing but node and npm on PATH.
pub fn interop_dir() -> PathBuf {
    static INSTALL: Mutex<bool> = Mutex::new(false);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/bullmq");
    let mut installed = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !*installed && !dir.join("node_modules/bullmq/package.json").exists() {
        let output = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .expect("npm must be on PATH for the BullMQ interop tests");
        assert!(
            output.status.success(),
            "npm ci in {} failed:\n{}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    *installed = true;
    dir
}

/// Environment both sides read: the Rust worker/producer and the Node scripts.
pub fn queue_env(config: &QueueConfig) -> Vec<(&'static str, String)> {
    vec![
        ("REDIS_URL", config.redis_url.clone()),
        ("STACKR_QUEUE", config.queue.clone()),
        ("STACKR_QUEUE_PREFIX", config.prefix.clone()),
    ]
}

/// Runs a Node script of interop/bullmq to completion and returns its stdout.
pub fn node(script: &str, args: &[&str], config: &QueueConfig) -> String {
    let output = node_command(script, args, config)
        .output()
        .expect("run node");
    check(script, &output);
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

pub fn node_command(script: &str, args: &[&str], config: &QueueConfig) -> Command {
    let dir = interop_dir();
    let mut command = Command::new("node");
    command
        .arg(dir.join(script))
        .args(args)
        .current_dir(&dir)
        .envs(queue_env(config))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn check(script: &str, output: &Output) {
    assert!(
        output.status.success(),
        "node {script} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Adds jobs with Node's `Queue.add`; returns their ids.
pub fn node_add(config: &QueueConfig, jobs: Value) -> Vec<String> {
    let out = node("add_jobs.js", &[&jobs.to_string()], config);
    serde_json::from_str(out.trim()).expect("add_jobs.js prints a JSON array of ids")
}

/// What Node BullMQ reports for these jobs (`{jobs: [...], counts: {...}}`).
pub fn node_inspect(config: &QueueConfig, ids: &[String]) -> Value {
    let args: Vec<&str> = ids.iter().map(String::as_str).collect();
    let out = node("inspect_jobs.js", &args, config);
    serde_json::from_str(out.trim()).expect("inspect_jobs.js prints JSON")
}

/// Polls Node's view until every job is in a final state (completed/failed) or panics.
pub fn node_wait_finished(config: &QueueConfig, ids: &[String], timeout: Duration) -> Vec<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let seen = node_inspect(config, ids);
        let jobs = seen["jobs"].as_array().unwrap().clone();
        if jobs
            .iter()
            .all(|j| j["state"] == "completed" || j["state"] == "failed")
        {
            return jobs;
        }
        assert!(
            Instant::now() < deadline,
            "jobs not finished in {timeout:?}: {seen:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn queue_config(redis_url: &str, queue: &str) -> QueueConfig {
    QueueConfig {
        redis_url: redis_url.to_string(),
        queue: queue.to_string(),
        prefix: "bull".to_string(),
        tls_ca: None,
    }
}

/// Stalled checks every second so a test sees recovery within seconds, not minutes. The lock
/// stays long enough (5 s) that a machine loaded by other suites never makes a job that is
/// running look stalled; the tests of stall recovery itself set their own, shorter, figures.
pub fn fast_worker_config(queue: QueueConfig, concurrency: usize) -> WorkerConfig {
    let mut config = WorkerConfig::with_defaults(queue);
    config.concurrency = concurrency;
    config.lock_duration = Duration::from_millis(5_000);
    config.stalled_interval = Duration::from_millis(1_000);
    config.shutdown_grace = Duration::from_secs(5);
    config
}

pub async fn redis_conn(url: &str) -> redis::aio::MultiplexedConnection {
    stackr_kit::redis_conn::multiplexed(url)
        .await
        .expect("connect to the test redis")
}

/// `Ok` once job `id` of queue `core` is in its `set` (`completed`, `failed`, `delayed`); else
/// the active jobs, for the message of [`eventually`].
pub async fn in_set(
    mut conn: redis::aio::MultiplexedConnection,
    set: &str,
    id: String,
) -> Result<(), String> {
    use redis::AsyncCommands;
    let score: Option<f64> = conn.zscore(format!("bull:core:{set}"), &id).await.unwrap();
    let active: Vec<String> = conn.lrange("bull:core:active", 0, -1).await.unwrap();
    score.map(|_| ()).ok_or(format!("active jobs {active:?}"))
}

/// Runs a worker with `config` and `handlers` until every job of `ids` is in `set`, then shuts it
/// down: within its grace period (and 10 s), leaving no job active.
pub async fn run_until_in_set(
    config: WorkerConfig,
    handlers: stackr_kit::worker::Handlers,
    conn: &redis::aio::MultiplexedConnection,
    set: &str,
    ids: &[String],
) {
    use redis::AsyncCommands;
    let grace = config.shutdown_grace;
    let running = stackr_kit::worker::start(config, handlers).await.unwrap();
    for id in ids {
        eventually(
            Duration::from_secs(30),
            &format!("job {id} in {set}"),
            || in_set(conn.clone(), set, id.clone()),
        )
        .await;
    }
    tokio::time::timeout(grace + Duration::from_secs(10), running.shutdown())
        .await
        .expect("shutdown finishes within the grace period")
        .unwrap();
    let active: usize = conn.clone().llen("bull:core:active").await.unwrap();
    assert_eq!(active, 0, "jobs left active");
}

/// Polls `check` every 50 ms until it answers `Ok`, or panics after `timeout` naming `what` it
/// waited for and the last thing `check` saw (its `Err`). Deadlines are generous: the wait ends
/// as soon as the condition holds, and a loaded machine can be many times slower than an idle one.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let seen = match check().await {
            Ok(()) => return,
            Err(seen) => seen,
        };
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for: {what}; last saw: {seen}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until a worker on `conn`'s Redis blocks on its empty queue's marker (BZPOPMIN in
/// CLIENT LIST): it has started and found nothing to do.
pub async fn wait_until_blocked_on_empty_queue(conn: &redis::aio::MultiplexedConnection) {
    wait_until_blocked_on_empty_queues(conn, 1).await;
}

/// Waits until `workers` workers on `conn`'s Redis block on their empty queues' markers.
pub async fn wait_until_blocked_on_empty_queues(
    conn: &redis::aio::MultiplexedConnection,
    workers: usize,
) {
    eventually(
        Duration::from_secs(60),
        &format!("{workers} worker(s) blocked on their empty queue's marker"),
        || {
            let mut conn = conn.clone();
            async move {
                let clients: String = redis::cmd("CLIENT")
                    .arg("LIST")
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                if clients.matches("cmd=bzpopmin").count() >= workers {
                    Ok(())
                } else {
                    Err(clients)
                }
            }
        },
    )
    .await;
}

/// `Ok` when `seen` is at least `wanted`, else what was seen, for [`eventually`].
pub fn at_least(seen: usize, wanted: usize, what: &str) -> Result<(), String> {
    if seen >= wanted {
        Ok(())
    } else {
        Err(format!("{seen} {what}"))
    }
}

/// The worker fixture binary (src/bin/worker_test_fixture.rs) as a child process on `queue`.
pub fn fixture_command(queue: &QueueConfig, extra_env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_worker_test_fixture"));
    command
        .envs(queue_env(queue))
        .env("RUST_LOG", "warn")
        .envs(extra_env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    command
}

/// How many times the fixture's `work` handler has started job `id`.
pub async fn fixture_executions(conn: &mut redis::aio::MultiplexedConnection, id: &str) -> u32 {
    redis::AsyncCommands::get::<_, Option<u32>>(conn, format!("fixture:executions:{id}"))
        .await
        .unwrap()
        .unwrap_or(0)
}

/// A child process killed when dropped, so a failing test leaves no process behind (a leftover
/// would also hold the test runner's output pipe open).
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends SIGTERM (what systemd and process-compose send) to a child process.
pub fn sigterm(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// Waits for a child to exit, panicking after `timeout`.
pub fn wait_exit(child: &mut std::process::Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("child {} did not exit within {timeout:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `src/commands` of the bullmq-official crate this package resolved (its Lua scripts, includes
/// resolved), found via cargo metadata.
pub fn bullmq_official_commands_dir() -> PathBuf {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let package = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "bullmq-official")
        .expect("bullmq-official in the dependency graph");
    PathBuf::from(package["manifest_path"].as_str().unwrap())
        .parent()
        .unwrap()
        .join("src/commands")
}

/// Redis's own arguments for a server that keeps its data across [`restart`]: an append-only
/// file, written through on every command.
const PERSISTED: [&str; 4] = ["--appendonly", "yes", "--appendfsync", "always"];

/// A Redis that keeps its data across [`restart`].
pub fn persisted_redis() -> stackr_testkit::TempRedis {
    let mut redis = stackr_testkit::TempRedis::start();
    redis.start_again_with(&PERSISTED);
    redis
}

/// Kills `redis` (a [`persisted_redis`]), leaves it down for a second and starts it again on the
/// same port and data; returns once it answers.
pub async fn restart(redis: stackr_testkit::TempRedis) -> stackr_testkit::TempRedis {
    restart_down_for(redis, std::time::Duration::from_secs(1)).await
}

/// [`restart`], down for `down`.
pub async fn restart_down_for(
    mut redis: stackr_testkit::TempRedis,
    down: std::time::Duration,
) -> stackr_testkit::TempRedis {
    tokio::task::spawn_blocking(move || {
        redis.kill();
        std::thread::sleep(down);
        redis.start_again_with(&PERSISTED);
        redis
    })
    .await
    .unwrap()
}
