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
//! `cargo bench -p stackr-kit --bench worker_throughput`
//! Env: WORKER_BENCH_JOBS (default 20000), WORKER_BENCH_REPEATS (default 3),
//! WORKER_BENCH_COMMANDSTATS=1 (print Redis's per-command stats after each run),
//! WORKER_BENCH_RUNTIME=current_thread (our worker on tokio's single-threaded scheduler).

#[path = "../tests/worker_support/mod.rs"]
mod worker_support;

use std::time::{Duration, Instant};

use redis::AsyncCommands;
use serde_json::json;
use stackr_kit::worker::{self, Handlers, Job, JobError, Producer, QueueConfig, WorkerConfig};
use stackr_testkit::TempRedis;
use worker_support::{interop_dir, node_command, queue_config, redis_conn};

const WARMUP: usize = 1_000;
const CONCURRENCIES: [usize; 2] = [1, 100];

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Node,
    Rust,
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
    println!(
        "load average at the start: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "{:>11}  {:>22}  {:>22}  {:>7}",
        "concurrency",
        format!("node bullmq {node_version}"),
        "stackr-kit worker",
        "ratio"
    );
    let mut all_met = true;
    for concurrency in CONCURRENCIES {
        let mut node_rates = Vec::new();
        let mut rust_rates = Vec::new();
        let mut node_cost = Vec::new();
        let mut rust_cost = Vec::new();
        let mut node_cpu = Vec::new();
        let mut rust_cpu = Vec::new();
        for round in 0..repeats {
            // Alternate who goes first so neither side always gets the warmer machine.
            let order = if round % 2 == 0 {
                [Side::Node, Side::Rust]
            } else {
                [Side::Rust, Side::Node]
            };
            for side in order {
                let run = measure(&redis, side, concurrency, jobs).await;
                let (rates, cost, cpu) = match side {
                    Side::Node => (&mut node_rates, &mut node_cost, &mut node_cpu),
                    Side::Rust => (&mut rust_rates, &mut rust_cost, &mut rust_cpu),
                };
                rates.push(run.rate);
                cost.push(run.redis_us_per_job);
                cpu.push(run.client_cpu_us_per_job);
            }
        }
        let node = median(&mut node_rates);
        let rust = median(&mut rust_rates);
        let ratio = rust / node;
        all_met &= ratio >= 2.0;
        println!(
            "{concurrency:>11}  {:>16.0} jobs/s  {:>16.0} jobs/s  {ratio:>6.2}x   runs: node {:?}, ours {:?}",
            node,
            rust,
            rounded(&node_rates),
            rounded(&rust_rates),
        );
        println!(
            "{:>11}  redis cpu us/job: node {:.1}, ours {:.1};  worker-process cpu us/job: node {:.1}, ours {:.1}",
            "",
            median(&mut node_cost),
            median(&mut rust_cost),
            median(&mut node_cpu),
            median(&mut rust_cpu),
        );
    }
    println!(
        "target (ours >= 2x node at both concurrencies): {}",
        if all_met { "met" } else { "NOT met" }
    );
    println!("redis cpu us/job: redis-server's CPU time per job (same scripts, same commands for both sides);");
    println!("1e6 / it is the most jobs/s one redis-server can complete, whoever the client is");
    println!(
        "load average at the end (2-core machine, shared): {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}

/// One run's rate, and Redis's own CPU time per job (from INFO commandstats), which tells
/// whether a side is limited by Redis (same scripts: same cost) or by its client.
struct Run {
    rate: f64,
    redis_us_per_job: f64,
    /// The worker process's own CPU time per job (user + system), over the timed jobs. Unlike
    /// the rate, it hardly depends on what else the (shared) machine is running.
    client_cpu_us_per_job: f64,
}

async fn measure(redis: &TempRedis, side: Side, concurrency: usize, jobs: usize) -> Run {
    let mut conn = redis_conn(&redis.url()).await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
    let name = match side {
        Side::Node => "bench-node",
        Side::Rust => "bench-rust",
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
                })
            });
            // Includes this harness's own polling: counted against us, not for us.
            let (elapsed, cpu_us) =
                time_completions_with_cpu(&mut conn, &completed_key, total).await;
            stop.send(()).unwrap();
            worker_thread.join().unwrap();
            (elapsed, cpu_us)
        }
    };
    // Over the whole run (warm-up included), hence divided by all jobs below.
    let redis_us = redis_cpu_micros(&mut conn).await - redis_cpu_before;
    if std::env::var_os("WORKER_BENCH_COMMANDSTATS").is_some() {
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut conn)
            .await
            .unwrap();
        println!(
            "--- {} c={concurrency} redis commandstats:\n{}",
            queue.queue,
            info.trim()
        );
    }
    Run {
        rate: jobs as f64 / elapsed.as_secs_f64(),
        redis_us_per_job: redis_us / (WARMUP + jobs) as f64,
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

fn median(rates: &mut [f64]) -> f64 {
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rates[rates.len() / 2]
}

fn rounded(rates: &[f64]) -> Vec<u64> {
    rates.iter().map(|r| r.round() as u64).collect()
}
