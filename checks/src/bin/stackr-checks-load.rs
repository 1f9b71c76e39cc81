//! Sends authenticated `GET`s to one URL for a fixed time from several concurrent clients and
//! prints how many were answered 200 and how many were not: the load of the load-balancer bench,
//! run inside a host's container (the API's port is open to loopback only).
//! `stackr-checks-load <url> <seconds> <concurrency>`, the session cookie on stdin (never argv
//! or the environment).

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: stackr-checks-load <url> <seconds> <concurrency> (cookie on stdin)";
    let mut args = std::env::args().skip(1);
    let url = args.next().context(usage)?;
    let seconds: f64 = args.next().context(usage)?.parse().context(usage)?;
    let concurrency: usize = args.next().context(usage)?.parse().context(usage)?;
    let mut cookie = String::new();
    std::io::stdin().read_to_string(&mut cookie)?;
    let cookie = cookie.trim().to_owned();
    anyhow::ensure!(!cookie.is_empty(), "no session cookie on stdin");

    let client = reqwest::Client::new();
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        let (client, url, cookie) = (client.clone(), url.clone(), cookie.clone());
        let (ok, failed) = (ok.clone(), failed.clone());
        clients.push(tokio::spawn(async move {
            while Instant::now() < until {
                let answered = match client.get(&url).header("cookie", &cookie).send().await {
                    Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let counter = if answered { &ok } else { &failed };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for client in clients {
        client.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "ok={} failed={} seconds={elapsed:.3}",
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    Ok(())
}
