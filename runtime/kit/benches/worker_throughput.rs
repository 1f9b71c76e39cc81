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
//! Env: WORKER_BENCH_JOBS (default 20000), WORKER_BENCH_REPEATS (default 3).

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

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let jobs = env_number("WORKER_BENCH_JOBS", 20_000);
    let repeats = env_number("WORKER_BENCH_REPEATS", 3).max(1);
    interop_dir(); // npm ci before any timing
    let redis = TempRedis::start();
    let node_version = node_bullmq_version();

    println!("worker throughput: {jobs} jobs after {WARMUP} warm-up, median of {repeats}, one redis-server on loopback");
    println!("load average at the start: {}", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
    println!("{:>11}  {:>22}  {:>22}  {:>7}", "concurrency", format!("node bullmq {node_version}"), "stackr-kit worker", "ratio");
    let mut all_met = true;
    for concurrency in CONCURRENCIES {
        let mut node_rates = Vec::new();
        let mut rust_rates = Vec::new();
        let mut node_cost = Vec::new();
        let mut rust_cost = Vec::new();
        for round in 0..repeats {
            // Alternate who goes first so neither side always gets the warmer machine.
            let order = if round % 2 == 0 { [Side::Node, Side::Rust] } else { [Side::Rust, Side::Node] };
            for side in order {
                let run = measure(&redis, side, concurrency, jobs).await;
                let (rates, cost) = match side {
                    Side::Node => (&mut node_rates, &mut node_cost),
                    Side::Rust => (&mut rust_rates, &mut rust_cost),
                };
                rates.push(run.rate);
                cost.push(run.redis_us_per_job);
            }
        }
        let node = median(&mut node_rates);
        let rust = median(&mut rust_rates);
        let ratio = rust / node;
        all_met &= ratio >= 2.0;
        println!(
            "{concurrency:>11}  {:>16.0} jobs/s  {:>16.0} jobs/s  {ratio:>6.2}x   runs: node {:?}, ours {:?}; redis us/job: node {:.1}, ours {:.1}",
            node,
            rust,
            rounded(&node_rates),
            rounded(&rust_rates),
            median(&mut node_cost),
            median(&mut rust_cost),
        );
    }
    println!("target (ours >= 2x node at both concurrencies): {}", if all_met { "met" } else { "NOT met" });
    println!("redis us/job is Redis's own time per job; 1e6 / it is the most one redis-server can do with these scripts");
    println!("load average at the end (2-core machine, shared): {}", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
}

/// One run's rate, and Redis's own CPU time per job (from INFO commandstats), which tells
/// whether a side is limited by Redis (same scripts: same cost) or by its client.
struct Run {
    rate: f64,
    redis_us_per_job: f64,
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
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(&mut conn).await.unwrap();

    let completed_key = format!("{}:{}:completed", queue.prefix, queue.queue);
    let total = WARMUP + jobs;
    let elapsed = match side {
        Side::Node => {
            let mut child = node_command("bench_worker.js", &[&concurrency.to_string(), &total.to_string()], &queue)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("start node bench worker");
            let elapsed = time_completions(&mut conn, &completed_key, total).await;
            let status = child.wait().unwrap();
            assert!(status.success(), "node bench worker failed: {status}");
            elapsed
        }
        Side::Rust => {
            let mut config = WorkerConfig::with_defaults(queue.clone());
            config.concurrency = concurrency;
            let handlers = Handlers::new().on("bench", |_job: Job| async { Ok::<_, JobError>(json!({ "ok": true })) });
            let running = worker::start(config, handlers).await.unwrap();
            let elapsed = time_completions(&mut conn, &completed_key, total).await;
            running.shutdown().await.unwrap();
            elapsed
        }
    };
    let redis_us: f64 = redis_busy_micros(&mut conn).await;
    Run {
        rate: jobs as f64 / elapsed.as_secs_f64(),
        redis_us_per_job: redis_us / (WARMUP + jobs) as f64,
    }
}

/// Sum of `usec` over all commands since the last RESETSTAT (Lua time included in EVALSHA).
async fn redis_busy_micros(conn: &mut redis::aio::MultiplexedConnection) -> f64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query_async(conn).await.unwrap();
    info.lines()
        .filter_map(|line| line.split("usec=").nth(1))
        .filter_map(|rest| rest.split(',').next())
        .filter_map(|usec| usec.parse::<f64>().ok())
        .sum()
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

/// Time from WARMUP completions to `total` completions, seen in Redis every 2 ms.
async fn time_completions(conn: &mut redis::aio::MultiplexedConnection, key: &str, total: usize) -> Duration {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut started: Option<Instant> = None;
    loop {
        let done: usize = conn.zcard(key).await.unwrap();
        if started.is_none() && done >= WARMUP {
            started = Some(Instant::now());
        }
        if done >= total {
            return started.unwrap().elapsed();
        }
        assert!(Instant::now() < deadline, "benchmark stuck at {done}/{total} completed");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn node_bullmq_version() -> String {
    let package = std::fs::read_to_string(interop_dir().join("node_modules/bullmq/package.json")).unwrap();
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
