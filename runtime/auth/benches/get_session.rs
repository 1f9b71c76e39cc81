//! get-session benchmark: the real BetterAuth 1.7.25 (Node, `interop/ba-server.mjs`) and
//! stackr-auth (the release `stackr-auth` binary) against the **same** PostgreSQL database on this
//! machine, validating the same cookie, 64 concurrent keep-alive connections each.
//!
//! Run: `cargo bench -p stackr-auth --bench get_session` (env `BENCH_SECS`, default 10;
//! `BENCH_CONNECTIONS`, default 64). Prints throughput and p50/p99 for both, and the ratio.
//!
//! The load generator is a minimal HTTP/1.1 client on raw sockets (one request in flight per
//! connection), so it costs both servers the same and measures the server, not a client library.

#[path = "../tests/common/node.rs"]
mod node;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SECRET: &str = "bench-secret-0123456789abcdef0123456789abcdef";
const ORIGIN: &str = "http://localhost:3000";

struct Stats {
    requests: usize,
    errors: usize,
    secs: f64,
    latencies_us: Vec<u64>,
}

impl Stats {
    fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
    fn rps(&self) -> f64 {
        self.requests as f64 / self.secs
    }
}

/// Reads one HTTP/1.1 response (content-length or chunked); returns (status, body).
async fn read_response(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut tmp = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status: u16 = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let body_start = end + 4;
            if let Some(len) = head.lines().find_map(|l| {
                l.strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
            }) {
                while buf.len() < body_start + len {
                    let n = stream.read(&mut tmp).await?;
                    if n == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                    buf.extend_from_slice(&tmp[..n]);
                }
                let body = buf[body_start..body_start + len].to_vec();
                buf.drain(..body_start + len);
                return Ok((status, body));
            }
            if head.contains("transfer-encoding: chunked") {
                loop {
                    if let Some(pos) = buf[body_start..].windows(5).position(|w| w == b"0\r\n\r\n")
                    {
                        let end_all = body_start + pos + 5;
                        let body = buf[body_start..end_all].to_vec();
                        buf.drain(..end_all);
                        return Ok((status, body));
                    }
                    let n = stream.read(&mut tmp).await?;
                    if n == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                    buf.extend_from_slice(&tmp[..n]);
                }
            }
            buf.drain(..body_start);
            return Ok((status, Vec::new()));
        }
        let n = stream.read(&mut tmp).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&tmp[..n]);
    }
}

async fn load(port: u16, cookie: &str, expect: &str, connections: usize, secs: u64) -> Stats {
    let request = format!(
        "GET /api/auth/get-session HTTP/1.1\r\nHost: localhost:{port}\r\nCookie: {cookie}\r\nUser-Agent: stackr-bench\r\n\r\n"
    );
    let warmup = Duration::from_secs(2);
    let start = Instant::now();
    let measure_from = start + warmup;
    let deadline = measure_from + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let request = request.clone();
        let expect = expect.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0usize;
            let mut stream = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            stream.set_nodelay(true).ok();
            let mut buf = Vec::with_capacity(16384);
            loop {
                let t0 = Instant::now();
                if t0 >= deadline {
                    break;
                }
                let ok = match stream.write_all(request.as_bytes()).await {
                    Ok(()) => match read_response(&mut stream, &mut buf).await {
                        Ok((200, body)) => String::from_utf8_lossy(&body).contains(&expect),
                        Ok(_) => false,
                        Err(_) => {
                            stream = TcpStream::connect(("127.0.0.1", port))
                                .await
                                .expect("reconnect");
                            buf.clear();
                            false
                        }
                    },
                    Err(_) => false,
                };
                if t0 >= measure_from {
                    if ok {
                        lat.push(t0.elapsed().as_micros() as u64);
                    } else {
                        errors += 1;
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies_us.extend(l);
        errors += e;
    }
    latencies_us.sort_unstable();
    Stats {
        requests: latencies_us.len(),
        errors,
        secs: secs as f64,
        latencies_us,
    }
}

fn wait_http(port: u16) {
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("nothing listens on {port}");
}

fn start_ours(db_url: &str, dir: &std::path::Path, cache_ms: &str) -> (Child, u16) {
    let secret = dir.join("auth-secret");
    std::fs::write(&secret, SECRET).unwrap();
    let port = stackr_testkit::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_stackr-auth"))
        .env("AUTH_BASE_URL", format!("http://localhost:{port}"))
        .env("AUTH_SECRET_FILE", &secret)
        .env("DATABASE_URL", db_url)
        .env("PORT", port.to_string())
        .env("AUTH_TRUSTED_ORIGINS", ORIGIN)
        .env("AUTH_SESSION_CACHE_MS", cache_ms)
        .env("AUTH_MAIL_DIR", dir.join("mail"))
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("start stackr-auth");
    wait_http(port);
    (child, port)
}

fn print(name: &str, s: &Stats) {
    println!(
        "{name:<22} {:>10.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   errors {}",
        s.rps(),
        s.pct(0.50),
        s.pct(0.99),
        s.errors
    );
}

// One client thread, like `wrk -t1`: the load generator shares the 2 cores with the server under test
// and PostgreSQL, and every extra client thread it runs steals them from the thing being measured.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let connections: usize = std::env::var("BENCH_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let pg = tokio::task::spawn_blocking(stackr_testkit::TempPostgres::start)
        .await
        .unwrap();
    let db_url = pg.create_database("bench");
    let dir = tempfile::tempdir().unwrap();

    // BetterAuth creates the schema and the user; stackr-auth adopts the same database.
    let ba = {
        let db_url = db_url.clone();
        tokio::task::spawn_blocking(move || node::BetterAuthServer::start(&db_url, SECRET, ORIGIN))
            .await
            .unwrap()
    };
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/auth/sign-up/email", ba.base()))
        .header("origin", ORIGIN)
        .json(&serde_json::json!({"name": "Bench", "email": "bench@example.com", "password": "bench-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "BetterAuth sign-up");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    println!("get-session, {connections} connections, {secs} s each (+2 s warm-up), same PostgreSQL, same cookie");
    let ba_stats = load(ba.port, &cookie, "bench@example.com", connections, secs).await;
    print("BetterAuth 1.7.25", &ba_stats);

    // stackr-auth with the session cache off: one PostgreSQL query per call, like BetterAuth.
    let (mut ours, port) = start_ours(&db_url, dir.path(), "0");
    let db_stats = load(port, &cookie, "bench@example.com", connections, secs).await;
    print("stackr-auth (no cache)", &db_stats);
    let _ = ours.kill();
    let _ = ours.wait();

    // stackr-auth as deployed (default 1 s session cache, invalidated by every change).
    let (mut ours, port) = start_ours(&db_url, dir.path(), "1000");
    let our_stats = load(port, &cookie, "bench@example.com", connections, secs).await;
    print("stackr-auth (default)", &our_stats);
    let _ = ours.kill();
    let _ = ours.wait();

    let load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("machine load average during the run: {}", load_avg.trim());
    for (name, s) in [("no cache", &db_stats), ("default", &our_stats)] {
        let ratio = s.rps() / ba_stats.rps();
        println!(
            "stackr-auth ({name}): {ratio:.1}x BetterAuth's throughput (target >= 20x: {}), p99 {:.2} ms (target < 5 ms: {})",
            if ratio >= 20.0 { "MET" } else { "NOT MET" },
            s.pct(0.99),
            if s.pct(0.99) < 5.0 { "MET" } else { "NOT MET" }
        );
    }
    drop(ba);
}
