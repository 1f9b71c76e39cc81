//! Jobs/s of our worker (stackr-kit on bullmq-official 1.4.4) and of Node BullMQ 6.5.1's Worker,
//! on the same redis-server, at concurrency 1 and 100, in one run.
//!
//! Shape of taskforcesh/bullmq-bench's worker-generic / worker-concurrent: the queue is
//! pre-filled (the same `add_bulk` for both sides), the processor is a no-op returning a small
//! object, jobs are kept in `completed` (default options). Both sides are timed by the same
//! observer polling `ZCARD <queue>:completed`: the clock starts when WARMUP jobs have
//! completed and stops when WARMUP + JOBS have, so start-up and JIT warm-up are excluded and the
//! rate is JOBS / elapsed (no bullmq-bench-style inflation). Median of REPEATS runs.
//!
//! A third side, the floor (see `floor.rs`), runs the same scripts with no worker around them,
//! at the same concurrency. The bound, the most any client of BullMQ's scripts can get from
//! this Redis, is:
//! - at concurrency 1, the floor's rate: one `moveToFinished`-with-fetch-next round trip per
//!   job, back to back, no handler work. A worker waits for the same round trips and adds its
//!   own work to each.
//! - above 1, 1e6 / the µs Redis spends inside the floor's scripts per job (INFO commandstats):
//!   Redis runs one script at a time, so no client gets more, however it pipelines. The floor,
//!   which sends the calls for all its jobs in flight in one pipeline, shows how close a client
//!   can get (Redis's own CPU is printed as a share of the window: near 100%, Redis is the
//!   limit and the rest of the gap is Redis's reading and writing of sockets).
//!
//! At concurrency 1 a fourth side, the async floor, makes the floor's calls over redis-rs's
//! async connection on a single-threaded runtime, the client library and runtime our worker's
//! queue thread uses. It is printed beside the others, not used as the bound: its CPU per job is
//! what that client costs any worker built on it.
//!
//! The target: ours at least 90% of the bound and at most half of Node's worker-process CPU
//! per job (user + system over the timed window: for ours, /proc/self/stat less the harness
//! thread's /proc/thread-self/stat, since the worker runs on threads of its own in this process;
//! for Node, `process.cpuUsage()` inside its process), at both concurrencies.
//! The table prints, per concurrency, the bound, both workers' rate, share of the bound and CPU
//! per job, the CPU ratio, whether the target is met, and the load average.
//!
//! `cargo bench -p stackr-kit --bench worker_throughput`
//! Env: WORKER_BENCH_JOBS (default 20000), WORKER_BENCH_REPEATS (default 3),
//! WORKER_BENCH_COMMANDSTATS=1 (print Redis's per-command stats after each run),
//! WORKER_BENCH_REDIS=unix (every side reaches Redis through its Unix socket, as the processes of
//! a deployed host do, instead of loopback TCP, as in dev).

mod floor;
// Shared with the integration tests; a bench uses only part of it.
#[allow(dead_code, unused_imports)]
#[path = "../../tests/it/worker_support/mod.rs"]
mod worker_support;

use std::time::{Duration, Instant};

use redis::AsyncCommands;
use serde_json::json;
use stackr_kit::worker::{self, Handlers, Job, JobError, Producer, QueueConfig, WorkerConfig};
use stackr_testkit::TempRedis;
use worker_support::{
    bullmq_official_commands_dir, interop_dir, node_command, queue_config, redis_conn,
};

// The worker runs in this process, on the allocator a worker binary has.
#[global_allocator]
static ALLOCATOR: stackr_kit::worker::Allocator = stackr_kit::worker::Allocator;

const WARMUP: usize = 1_000;
const CONCURRENCIES: [usize; 2] = [1, 100];

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Node,
    Rust,
    Floor,
    /// The floor over an async connection; at concurrency 1 only, beside the bound.
    AsyncFloor,
}

/// The runtime a worker binary's `#[tokio::main]` gives `run_from_env`: the worker is started
/// from it (and then runs on threads of its own).
fn worker_binary_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let jobs = env_number("WORKER_BENCH_JOBS", 20_000);
    let repeats = env_number("WORKER_BENCH_REPEATS", 3).max(1);
    interop_dir(); // npm ci before any timing
    let redis = TempRedis::start();
    let node_version = node_bullmq_version();

    let transport = if through_socket() {
        "its Unix socket"
    } else {
        "loopback TCP"
    };
    println!("worker throughput: {jobs} jobs after {WARMUP} warm-up, median of {repeats}, one redis-server reached through {transport}");
    println!("load average at the start: {}", load_average());
    let commands = bullmq_official_commands_dir();
    let mut rows = Vec::new();
    for concurrency in CONCURRENCIES {
        let mut sides = vec![Side::Node, Side::Rust, Side::Floor];
        if concurrency == 1 {
            sides.push(Side::AsyncFloor);
        }
        let mut runs: [Vec<Run>; 4] = Default::default();
        for round in 0..repeats {
            // Rotate who goes first so no side always gets the warmer machine.
            let mut order = sides.clone();
            order.rotate_left(round % sides.len());
            for side in order {
                let run = measure(&redis, side, concurrency, jobs, &commands).await;
                runs[side as usize].push(run);
            }
        }
        let [node, rust, floor, async_floor] = runs.map(Summary::of);
        let ran = |side: Option<Summary>| side.expect("every side ran");
        let row = Row::new(
            concurrency,
            [ran(node), ran(rust), ran(floor)],
            async_floor,
            load_average(),
        );
        row.print_details(&node_version);
        rows.push(row);
    }

    println!();
    println!("target: ours >= {:.0}% of the bound and ours <= {MAX_CPU_RATIO} x node's worker-process CPU per job, at every concurrency", 100.0 * MIN_SHARE_OF_BOUND);
    println!(
        "{:>4}  {:>16}  {:>26}  {:>26}  {:>8}  {:>6}  load average",
        "conc",
        "bound",
        "stackr-kit worker",
        format!("node bullmq {node_version}"),
        "cpu o/n",
        "target",
    );
    for row in &rows {
        row.print();
    }
    println!("bound at 1: the floor, BullMQ's scripts run back to back by no worker (one moveToFinished-with-fetch-next round trip per job, no handler work), measured in this run.");
    println!("bound above 1: 1e6 / the us Redis spends inside the floor's scripts per job (INFO commandstats): Redis runs scripts one at a time, so no client gets more. The floor, pipelining all its calls, shows how close a client can get to it.");
    println!("async floor (at 1): the floor's calls over redis-rs's async connection on a single-threaded runtime, as our worker's queue thread makes them; its cpu is the client library's own.");
    println!("cpu: the worker process's user + system time per timed job (ours and the floor: /proc/self/stat less the harness thread; node: process.cpuUsage()); o/n = ours / node.");
    for row in &rows {
        row.print_cpu_limit();
    }
    let all_met = rows.iter().all(Row::met);
    println!(
        "target (both concurrencies): {}",
        if all_met { "met" } else { "NOT met" }
    );
    println!(
        "load average at the end (2-core machine, shared): {}",
        load_average()
    );
}

/// Ours must get at least this share of the bound…
const MIN_SHARE_OF_BOUND: f64 = 0.9;
/// …with at most this multiple of Node's worker-process CPU per job.
const MAX_CPU_RATIO: f64 = 0.5;

/// One concurrency's line of the result table.
struct Row {
    concurrency: usize,
    bound: f64,
    /// How the bound was measured, in a few words.
    bound_method: String,
    node: Summary,
    rust: Summary,
    floor: Summary,
    /// The floor over an async connection, where it ran.
    async_floor: Option<Summary>,
    load: String,
}

impl Row {
    fn new(
        concurrency: usize,
        [node, rust, floor]: [Summary; 3],
        async_floor: Option<Summary>,
        load: String,
    ) -> Row {
        let (bound, bound_method) = if concurrency == 1 {
            (floor.rate, "floor".to_string())
        } else {
            (
                1e6 / floor.script_us,
                format!("{:.1}us in-script", floor.script_us),
            )
        };
        Row {
            concurrency,
            bound,
            bound_method,
            node,
            rust,
            floor,
            async_floor,
            load,
        }
    }

    fn share(&self, side: &Summary) -> f64 {
        side.rate / self.bound
    }

    fn cpu_ratio(&self) -> f64 {
        self.rust.client_cpu_us / self.node.client_cpu_us
    }

    fn met(&self) -> bool {
        self.share(&self.rust) >= MIN_SHARE_OF_BOUND && self.cpu_ratio() <= MAX_CPU_RATIO
    }

    fn print(&self) {
        let side = |summary: &Summary| {
            format!(
                "{:>6.0}/s {:>4.0}% {:>6.1}us/job",
                summary.rate,
                100.0 * self.share(summary),
                summary.client_cpu_us
            )
        };
        println!(
            "{:>4}  {:>16}  {:>26}  {:>26}  {:>8.2}  {:>6}  {}",
            self.concurrency,
            format!(
                "{:.0}/s {}",
                self.bound,
                if self.concurrency == 1 {
                    "floor"
                } else {
                    "in-script"
                }
            ),
            side(&self.rust),
            side(&self.node),
            self.cpu_ratio(),
            if self.met() { "met" } else { "NOT met" },
            self.load,
        );
    }

    /// Where the CPU target leaves a worker at concurrency 1: what the floor's bare round trips
    /// cost already takes most of half of Node's CPU per job, whatever client makes them.
    fn print_cpu_limit(&self) {
        let Some(async_floor) = &self.async_floor else {
            return;
        };
        let node = self.node.client_cpu_us;
        let allowed = MAX_CPU_RATIO * node;
        println!(
            "cpu limit at {}: the target allows {MAX_CPU_RATIO} x node's {node:.1} = {allowed:.1} us/job; the floor's blocking round trips alone take {:.1} ({:.2} x node), leaving {:.1} us/job for everything a worker adds to them; over redis-rs's async connection they take {:.1} ({:.2} x node)",
            self.concurrency,
            self.floor.client_cpu_us,
            self.floor.client_cpu_us / node,
            allowed - self.floor.client_cpu_us,
            async_floor.client_cpu_us,
            async_floor.client_cpu_us / node,
        );
    }

    /// The figures behind the row, printed as soon as the concurrency is done.
    fn print_details(&self, node_version: &str) {
        let c = self.concurrency;
        println!(
            "concurrency {c}: bound {:.0} jobs/s ({})",
            self.bound, self.bound_method
        );
        for (name, summary) in [
            (format!("node bullmq {node_version}"), &self.node),
            ("stackr-kit worker".to_string(), &self.rust),
            ("floor (no worker)".to_string(), &self.floor),
        ]
        .into_iter()
        .chain(
            self.async_floor
                .as_ref()
                .map(|summary| ("async floor".to_string(), summary)),
        ) {
            println!(
                "  {name:<20} {:>6.0} jobs/s {:>4.0}% of bound  runs {:?}  cpu {:>5.1} us/job  redis: {:>3.0}% busy, {:>5.1} us/job, {:>5.1} of it in scripts",
                summary.rate,
                100.0 * self.share(summary),
                summary.runs,
                summary.client_cpu_us,
                summary.redis_busy_percent,
                summary.redis_us,
                summary.script_us,
            );
        }
        println!("  load average: {}", self.load);
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// One run's rate, and Redis's own CPU time per job (from INFO commandstats), which tells
/// whether a side is limited by Redis (same scripts: same cost) or by its client.
struct Run {
    rate: f64,
    redis_us_per_job: f64,
    /// Redis's time inside EVAL/EVALSHA per job (INFO commandstats): the scripts' own cost,
    /// without the network I/O around them.
    script_us_per_job: f64,
    /// The worker process's own CPU time per job (user + system), over the timed jobs. Unlike
    /// the rate, it hardly depends on what else the (shared) machine is running.
    client_cpu_us_per_job: f64,
    /// Redis's main-thread CPU time over the timed window, as a share of the window: near 100,
    /// Redis itself is the limit.
    redis_busy_percent: f64,
}

/// The median of one side's runs at one concurrency.
struct Summary {
    rate: f64,
    redis_us: f64,
    script_us: f64,
    client_cpu_us: f64,
    redis_busy_percent: f64,
    /// Every run's rate, rounded, to show the spread.
    runs: Vec<u64>,
}

impl Summary {
    /// `None` for a side that did not run.
    fn of(runs: Vec<Run>) -> Option<Summary> {
        if runs.is_empty() {
            return None;
        }
        let median_of = |field: fn(&Run) -> f64| {
            let mut values: Vec<f64> = runs.iter().map(field).collect();
            values.sort_by(|a, b| a.partial_cmp(b).unwrap());
            values[values.len() / 2]
        };
        Some(Summary {
            rate: median_of(|run| run.rate),
            redis_us: median_of(|run| run.redis_us_per_job),
            script_us: median_of(|run| run.script_us_per_job),
            client_cpu_us: median_of(|run| run.client_cpu_us_per_job),
            redis_busy_percent: median_of(|run| run.redis_busy_percent),
            runs: runs.iter().map(|run| run.rate.round() as u64).collect(),
        })
    }
}

/// Where the measured sides reach Redis (`WORKER_BENCH_REDIS`): loopback TCP, or the server's
/// Unix socket. The harness itself (filling, observing) always uses TCP.
fn sides_url(redis: &TempRedis) -> String {
    if through_socket() {
        redis.socket_url()
    } else {
        redis.url()
    }
}

fn through_socket() -> bool {
    std::env::var("WORKER_BENCH_REDIS").is_ok_and(|v| v == "unix")
}

async fn measure(
    redis: &TempRedis,
    side: Side,
    concurrency: usize,
    jobs: usize,
    commands: &std::path::Path,
) -> Run {
    let mut conn = redis_conn(&redis.url()).await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
    let name = match side {
        Side::Node => "bench-node",
        Side::Rust => "bench-rust",
        Side::Floor => "bench-floor",
        Side::AsyncFloor => "bench-async-floor",
    };
    let queue = queue_config(&sides_url(redis), &format!("{name}-c{concurrency}"));
    prefill(&queue, WARMUP + jobs).await;
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut conn)
        .await
        .unwrap();
    let redis_cpu_before = redis_cpu_micros(&mut conn).await;

    let completed_key = format!("{}:{}:completed", queue.prefix, queue.queue);
    let total = WARMUP + jobs;
    let (window, cpu_us) = match side {
        Side::Node => {
            let child = node_command(
                "bench_worker.js",
                &[
                    &concurrency.to_string(),
                    &total.to_string(),
                    &WARMUP.to_string(),
                ],
                &queue,
            )
            .spawn()
            .expect("start node bench worker");
            let window = time_completions(&mut conn, &completed_key, total).await;
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "node bench worker failed: {}",
                output.status
            );
            let report: serde_json::Value =
                serde_json::from_slice(&output.stdout).expect("bench_worker.js report");
            (window, report["cpu_us"].as_f64().unwrap())
        }
        Side::Rust => {
            let mut config = WorkerConfig::with_defaults(queue.clone());
            config.concurrency = concurrency;
            let handlers = Handlers::new().on("bench", |_job: Job| async {
                Ok::<_, JobError>(json!({ "ok": true }))
            });
            // Started from a runtime of its own on its own thread, as in a worker binary, so the
            // harness's polling does not share its scheduler.
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let worker_thread = std::thread::spawn(move || {
                worker_binary_runtime().block_on(async move {
                    let running = worker::start(config, handlers).await.unwrap();
                    let _ = stopped.await;
                    running.shutdown().await.unwrap();
                });
            });
            let timed = time_completions_with_cpu(&mut conn, &completed_key, total).await;
            stop.send(()).unwrap();
            worker_thread.join().unwrap();
            timed
        }
        Side::Floor | Side::AsyncFloor => {
            let floor = if side == Side::Floor {
                floor::start(&queue, commands, concurrency)
            } else {
                floor::start_async(&queue, commands)
            };
            let timed = time_completions_with_cpu(&mut conn, &completed_key, total).await;
            let completed = floor.join().expect("floor thread");
            assert_eq!(completed, total, "the floor completed every job once");
            timed
        }
    };
    // Over the whole run (warm-up included), hence divided by all jobs below.
    let redis_us = redis_cpu_micros(&mut conn).await - redis_cpu_before;
    let commandstats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    if std::env::var_os("WORKER_BENCH_COMMANDSTATS").is_some() {
        println!(
            "--- {} c={concurrency} redis commandstats:\n{}",
            queue.queue,
            commandstats.trim()
        );
    }
    let elapsed = window.elapsed.as_secs_f64();
    Run {
        rate: jobs as f64 / elapsed,
        redis_busy_percent: 100.0 * window.redis_cpu_us / (elapsed * 1e6),
        redis_us_per_job: redis_us / (WARMUP + jobs) as f64,
        script_us_per_job: script_micros(&commandstats) / (WARMUP + jobs) as f64,
        client_cpu_us_per_job: cpu_us / jobs as f64,
    }
}

/// Fills the queue with jobs stored as Node's `Queue.addBulk` and our `Producer` store them
/// (`attempts: 0` among their options).
async fn prefill(queue: &QueueConfig, count: usize) {
    let producer = Producer::new(queue.clone());
    for start in (0..count).step_by(1_000) {
        let chunk = (start..count.min(start + 1_000)).map(|i| ("bench", json!({ "i": i })));
        producer.add_bulk(chunk).await.unwrap();
    }
}

/// Redis's CPU time so far (main thread, user + system), in µs: the work the scripts cost it.
async fn redis_cpu_micros(conn: &mut redis::aio::MultiplexedConnection) -> f64 {
    let info: String = redis::cmd("INFO")
        .arg("cpu")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .filter(|line| {
            line.starts_with("used_cpu_sys_main_thread:")
                || line.starts_with("used_cpu_user_main_thread:")
        })
        .filter_map(|line| line.split(':').nth(1))
        .filter_map(|seconds| seconds.trim().parse::<f64>().ok())
        .sum::<f64>()
        * 1e6
}

/// µs Redis spent running scripts (EVAL and EVALSHA), from INFO commandstats lines like
/// `cmdstat_evalsha:calls=21002,usec=1103397,usec_per_call=52.54,…`.
fn script_micros(commandstats: &str) -> f64 {
    commandstats
        .lines()
        .filter(|line| line.starts_with("cmdstat_eval:") || line.starts_with("cmdstat_evalsha:"))
        .filter_map(|line| {
            line.split(',')
                .find_map(|field| field.strip_prefix("usec="))
        })
        .filter_map(|usec| usec.parse::<f64>().ok())
        .sum()
}

/// The timed window: from WARMUP completions to all of them, seen in Redis every 2 ms.
struct Window {
    elapsed: Duration,
    /// Redis's main-thread CPU time over the window (µs).
    redis_cpu_us: f64,
}

async fn time_completions(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
    total: usize,
) -> Window {
    time_completions_with_cpu(conn, key, total).await.0
}

/// Same, plus the CPU time (µs) of the worker running in this process over that window.
async fn time_completions_with_cpu(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
    total: usize,
) -> (Window, f64) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut started: Option<(Instant, f64, f64)> = None;
    loop {
        let done: usize = conn.zcard(key).await.unwrap();
        if started.is_none() && done >= WARMUP {
            started = Some((
                Instant::now(),
                worker_cpu_micros(),
                redis_cpu_micros(conn).await,
            ));
        }
        if done >= total {
            let (at, cpu, redis_cpu) = started.unwrap();
            let elapsed = at.elapsed();
            let window = Window {
                elapsed,
                redis_cpu_us: redis_cpu_micros(conn).await - redis_cpu,
            };
            return (window, worker_cpu_micros() - cpu);
        }
        assert!(
            Instant::now() < deadline,
            "benchmark stuck at {done}/{total} completed"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// CPU time (µs) of this process but its harness thread: the worker's (or the floor's) own, like
/// the CPU Node's process reports for itself. The harness (`main`, on its single-threaded
/// runtime, which also runs the polling) is left out: in Node's case it is another process.
/// Called on the harness thread.
fn worker_cpu_micros() -> f64 {
    cpu_micros("/proc/self/stat") - cpu_micros("/proc/thread-self/stat")
}

/// utime + stime from a /proc `stat` file, in µs (clock ticks of 10 ms: Linux's USER_HZ is 100
/// on the platforms this runs on; a 20,000-job window spans hundreds of ticks).
fn cpu_micros(stat_file: &str) -> f64 {
    let stat = std::fs::read_to_string(stat_file).unwrap();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks * 10_000.0
}

fn node_bullmq_version() -> String {
    let package =
        std::fs::read_to_string(interop_dir().join("node_modules/bullmq/package.json")).unwrap();
    let package: serde_json::Value = serde_json::from_str(&package).unwrap();
    package["version"].as_str().unwrap_or("?").to_string()
}
