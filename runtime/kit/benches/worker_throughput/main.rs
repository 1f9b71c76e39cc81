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
//! A third column, the floor (see `floor.rs`), runs the same scripts with no worker around them:
//! the most any client of BullMQ's scripts can get from this Redis, so the ratio a target asks
//! for can be checked against what is possible at all.
//!
//! `cargo bench -p stackr-kit --bench worker_throughput`
//! Env: WORKER_BENCH_JOBS (default 20000), WORKER_BENCH_REPEATS (default 3),
//! WORKER_BENCH_COMMANDSTATS=1 (print Redis's per-command stats after each run),
//! WORKER_BENCH_RUNTIME=current_thread (our worker on tokio's single-threaded scheduler).

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

const WARMUP: usize = 1_000;
const CONCURRENCIES: [usize; 2] = [1, 100];

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Node,
    Rust,
    Floor,
}

/// WORKER_BENCH_RUNTIME=current_thread runs our worker on tokio's single-threaded scheduler;
/// the default is the multi-threaded one `#[tokio::main]` gives a worker binary.
fn worker_runtime() -> tokio::runtime::Runtime {
    let mut builder = match std::env::var("WORKER_BENCH_RUNTIME").as_deref() {
        Ok("current_thread") => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build().unwrap()
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

    println!("worker throughput: {jobs} jobs after {WARMUP} warm-up, median of {repeats}, one redis-server on loopback");
    println!("load average at the start: {}", load_average());
    println!(
        "{:>11}  {:>22}  {:>22}  {:>7}  {:>28}",
        "concurrency",
        format!("node bullmq {node_version}"),
        "stackr-kit worker",
        "ratio",
        "most any client can get"
    );
    let commands = bullmq_official_commands_dir();
    let mut all_met = true;
    for concurrency in CONCURRENCIES {
        // The floor bounds a worker only when it, too, has one job in flight.
        let sides: &[Side] = if concurrency == 1 {
            &[Side::Node, Side::Rust, Side::Floor]
        } else {
            &[Side::Node, Side::Rust]
        };
        let mut runs: [Vec<Run>; 3] = Default::default();
        for round in 0..repeats {
            // Rotate who goes first so no side always gets the warmer machine.
            let mut order = sides.to_vec();
            order.rotate_left(round % sides.len());
            for side in order {
                let run = measure(&redis, side, concurrency, jobs, &commands).await;
                runs[side as usize].push(run);
            }
        }
        let [node, rust, floor] = runs.map(Summary::of);

        let (node, rust) = (node.unwrap(), rust.unwrap());
        let (bound, why) = match &floor {
            Some(floor) => (floor.rate, "floor: the scripts alone".to_string()),
            None => {
                // Redis runs scripts one at a time, so no client gets more jobs/s than 1e6 over
                // the µs Redis spends inside the scripts per job (the least either side needed).
                let script_us = node.script_us.min(rust.script_us);
                (1e6 / script_us, format!("{script_us:.1} us/job in scripts"))
            }
        };
        let ratio = rust.rate / node.rate;
        all_met &= ratio >= 2.0;
        println!(
            "{concurrency:>11}  {:>16.0} jobs/s  {:>16.0} jobs/s  {ratio:>6.2}x  {bound:>9.0} jobs/s ({why})",
            node.rate, rust.rate,
        );
        println!(
            "{:>11}  runs: node {:?}, ours {:?}{}",
            "",
            node.runs,
            rust.runs,
            floor
                .as_ref()
                .map(|f| format!(", floor {:?}", f.runs))
                .unwrap_or_default(),
        );
        println!(
            "{:>11}  redis cpu us/job: node {:.1}, ours {:.1};  of it in scripts: node {:.1}, ours {:.1};  worker-process cpu us/job: node {:.1}, ours {:.1}",
            "", node.redis_us, rust.redis_us, node.script_us, rust.script_us, node.client_cpu_us, rust.client_cpu_us,
        );
        println!(
            "{:>11}  ours is {:.0}% of the most any client can get; 2x node is {:.0} jobs/s, {}",
            "",
            100.0 * rust.rate / bound,
            2.0 * node.rate,
            if 2.0 * node.rate > bound {
                "more than any client of BullMQ's scripts can get from this Redis"
            } else {
                "within reach"
            }
        );
    }
    println!(
        "target (ours >= 2x node at both concurrencies): {}",
        if all_met { "met" } else { "NOT met" }
    );
    println!(
        "most any client can get: at concurrency 1 the floor (BullMQ's scripts run back to back by"
    );
    println!("no worker at all, one job at a time); above 1, 1e6 / the µs Redis spends inside the scripts");
    println!("per job, since Redis runs scripts one at a time. Every side runs the same scripts.");
    println!(
        "load average at the end (2-core machine, shared): {}",
        load_average()
    );
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
}

/// The median of one side's runs at one concurrency.
struct Summary {
    rate: f64,
    redis_us: f64,
    script_us: f64,
    client_cpu_us: f64,
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
            runs: runs.iter().map(|run| run.rate.round() as u64).collect(),
        })
    }
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
    };
    let queue = queue_config(&redis.url(), &format!("{name}-c{concurrency}"));
    prefill(&queue, WARMUP + jobs).await;
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut conn)
        .await
        .unwrap();
    let redis_cpu_before = redis_cpu_micros(&mut conn).await;

    let completed_key = format!("{}:{}:completed", queue.prefix, queue.queue);
    let total = WARMUP + jobs;
    let (elapsed, cpu_us) = match side {
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
            let elapsed = time_completions(&mut conn, &completed_key, total).await;
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "node bench worker failed: {}",
                output.status
            );
            let report: serde_json::Value =
                serde_json::from_slice(&output.stdout).expect("bench_worker.js report");
            (elapsed, report["cpu_us"].as_f64().unwrap())
        }
        Side::Rust => {
            let mut config = WorkerConfig::with_defaults(queue.clone());
            config.concurrency = concurrency;
            let handlers = Handlers::new().on("bench", |_job: Job| async {
                Ok::<_, JobError>(json!({ "ok": true }))
            });
            // The worker gets a runtime of its own on its own thread, as in a worker binary, so
            // the harness's polling does not share its scheduler.
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let worker_thread = std::thread::spawn(move || {
                worker_runtime().block_on(async move {
                    let running = worker::start(config, handlers).await.unwrap();
                    let _ = stopped.await;
                    running.shutdown().await.unwrap();
                });
            });
            // Includes this harness's own polling: counted against us, not for us.
            let (elapsed, cpu_us) =
                time_completions_with_cpu(&mut conn, &completed_key, total).await;
            stop.send(()).unwrap();
            worker_thread.join().unwrap();
            (elapsed, cpu_us)
        }
        Side::Floor => {
            let floor = floor::start(&queue, commands);
            let (elapsed, cpu_us) =
                time_completions_with_cpu(&mut conn, &completed_key, total).await;
            let completed = floor.join().expect("floor thread");
            assert_eq!(completed, total, "the floor completed every job once");
            (elapsed, cpu_us)
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
    Run {
        rate: jobs as f64 / elapsed.as_secs_f64(),
        redis_us_per_job: redis_us / (WARMUP + jobs) as f64,
        script_us_per_job: script_micros(&commandstats) / (WARMUP + jobs) as f64,
        client_cpu_us_per_job: cpu_us / jobs as f64,
    }
}

async fn prefill(queue: &QueueConfig, count: usize) {
    let producer = Producer::new(queue.clone());
    let bullmq_queue = producer.queue().await.unwrap();
    for start in (0..count).step_by(1_000) {
        let chunk = (start..count.min(start + 1_000))
            .map(|i| bullmq::BulkJob::new("bench", json!({ "i": i })))
            .collect();
        bullmq_queue.add_bulk(chunk).await.unwrap();
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

/// Time from WARMUP completions to `total` completions, seen in Redis every 2 ms.
async fn time_completions(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
    total: usize,
) -> Duration {
    time_completions_with_cpu(conn, key, total).await.0
}

/// Same, plus this process's CPU time (µs) over that window.
async fn time_completions_with_cpu(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
    total: usize,
) -> (Duration, f64) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut started: Option<(Instant, f64)> = None;
    loop {
        let done: usize = conn.zcard(key).await.unwrap();
        if started.is_none() && done >= WARMUP {
            started = Some((Instant::now(), own_cpu_micros()));
        }
        if done >= total {
            let (at, cpu) = started.unwrap();
            return (at.elapsed(), own_cpu_micros() - cpu);
        }
        assert!(
            Instant::now() < deadline,
            "benchmark stuck at {done}/{total} completed"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// utime + stime of this process from /proc/self/stat, in µs (clock ticks of 10 ms: Linux's
/// USER_HZ is 100 on the platforms this runs on; a 20,000-job window spans hundreds of ticks).
fn own_cpu_micros() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
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
