//! Throughput and latency of a guarded route versus an unguarded one on the same service, in one
//! run, against the real stackr-auth, PostgreSQL and Redis (`cargo bench -p stackr-kit`).
//!
//! The guarded route is `/me` (flavor standard: cookie forwarded to auth, answer cached for
//! `SESSION_CACHE_TTL_MS`); the unguarded one is `/public`. Both routes are measured in
//! alternating rounds so machine noise hits them alike. Target: with the cache on, the guarded
//! route keeps at least 70% of the unguarded throughput; the process exits non-zero otherwise.
//! A third line shows the guarded route with the cache off (every request asks auth), for scale.
//!
//! Knobs: `BENCH_CONNECTIONS` (default 32), `BENCH_ROUND_MS` (default 2000), `BENCH_ROUNDS` (3).

// Shared with the integration tests; a bench uses only part of it.
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/kit_support/mod.rs"]
mod kit_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kit_support::{Stack, StackOptions};
use stackr_kit::Flavor;

const REQUIRED_RATIO: f64 = 0.70;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default)]
struct Sample {
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

impl Sample {
    fn merge(&mut self, other: Sample) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        self.elapsed += other.elapsed;
    }

    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&mut self, p: f64) -> Duration {
        self.latencies.sort_unstable();
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(i).copied().unwrap_or_default()
    }
}

/// `connections` keep-alive clients hammer `url` for `duration`; every response must be 200.
async fn load(url: &str, cookie: Option<&str>, connections: usize, duration: Duration) -> Sample {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (url, cookie, stop) = (url.to_owned(), cookie.map(str::to_owned), stop.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .no_proxy()
                    .pool_max_idle_per_host(1)
                    .build()
                    .unwrap();
                let mut sample = Sample::default();
                while !stop.load(Ordering::Relaxed) {
                    let mut req = http.get(&url);
                    if let Some(c) = &cookie {
                        req = req.header("cookie", c);
                    }
                    let t = Instant::now();
                    match req.send().await {
                        Ok(res) if res.status() == 200 => {
                            let _ = res.bytes().await;
                            sample.latencies.push(t.elapsed());
                        }
                        _ => sample.errors += 1,
                    }
                }
                sample
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = Sample::default();
    for t in tasks {
        total.merge(t.await.unwrap());
    }
    total.elapsed = started.elapsed();
    total
}

fn report(label: &str, s: &mut Sample) {
    let (p50, p99) = (s.percentile(0.50), s.percentile(0.99));
    println!(
        "{label:<34} {:>9} req {:>10.0} req/s   p50 {:>8.3} ms   p99 {:>8.3} ms   errors {}",
        s.latencies.len(),
        s.throughput(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        s.errors
    );
}

async fn measure(
    stack: &Stack,
    cookie: &str,
    connections: usize,
    round: Duration,
    rounds: u64,
) -> (Sample, Sample) {
    let public = format!("{}/public", stack.service_url);
    let me = format!("{}/me", stack.service_url);
    // Warm-up: connection pools, the session cache, the allocator.
    load(&public, None, connections, Duration::from_millis(500)).await;
    load(&me, Some(cookie), connections, Duration::from_millis(500)).await;
    let (mut open, mut guarded) = (Sample::default(), Sample::default());
    for _ in 0..rounds {
        open.merge(load(&public, None, connections, round).await);
        guarded.merge(load(&me, Some(cookie), connections, round).await);
    }
    (open, guarded)
}

fn main() {
    let connections = knob("BENCH_CONNECTIONS", 32) as usize;
    let round = Duration::from_millis(knob("BENCH_ROUND_MS", 2000));
    let rounds = knob("BENCH_ROUNDS", 3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cached = Stack::start(StackOptions::new(Flavor::Standard).cache_ttl_ms(3000)).await;
        let alice = cached.sign_up("bench").await;
        println!(
            "stackr-kit guard benchmark: {connections} connections, {rounds} x {} ms rounds per route, real stackr-auth + PostgreSQL + Redis",
            round.as_millis()
        );
        let (mut open, mut guarded) = measure(&cached, &alice.cookie, connections, round, rounds).await;
        report("unprotected GET /public", &mut open);
        report("protected GET /me (cache 3000 ms)", &mut guarded);
        let ratio = guarded.throughput() / open.throughput();
        let auth_calls = cached.proxy.count("/api/auth/get-session");
        drop(cached);

        let uncached = Stack::start(StackOptions::new(Flavor::Standard).cache_ttl_ms(0)).await;
        let bob = uncached.sign_up("bench").await;
        let (_, mut no_cache) = measure(&uncached, &bob.cookie, connections, round, 1).await;
        report("protected GET /me (cache off)", &mut no_cache);
        drop(uncached);

        println!("get-session calls to auth during the cached run: {auth_calls}");
        let verdict = if ratio >= REQUIRED_RATIO && open.errors == 0 && guarded.errors == 0 { "PASS" } else { "FAIL" };
        println!(
            "protected/unprotected throughput with cache: {:.1}% (target >= {:.0}%): {verdict}",
            ratio * 100.0,
            REQUIRED_RATIO * 100.0
        );
        if verdict == "FAIL" {
            std::process::exit(1);
        }
    });
}
