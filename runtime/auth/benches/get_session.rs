//! get-session benchmark: stackr-auth (the release binary) and the real BetterAuth 1.7.25 (Node,
//! `interop/ba-server.mjs`) on the **same** PostgreSQL database and user, one session per
//! connection, each configured as a production user would run it, compared like for like.
//!
//! Run: `cargo bench -p stackr-auth --bench get_session`. Env: `BENCH_SECS` (measured seconds
//! per run, default 5, after a 2 s warm-up), `BENCH_CONNECTIONS` (default `1,8,16,64`).
//!
//! What runs, each at every connection count:
//! - BetterAuth with `NODE_ENV=production`, its twoFactor and admin plugins (the ones stackr-auth
//!   implements) and the indexes its docs recommend: with its cookie cache (a cached answer, like
//!   stackr-auth's default) and without it (two SELECTs per call, like stackr-auth's cache off);
//! - the same without the plugins, and once with `NODE_ENV` unset, to show what each costs;
//! - stackr-auth as deployed (1 s session cache) and with the cache off.
//!
//! Fairness on a small machine: the load generator is one thread pinned to core 1 (with two or
//! more cores); the servers and PostgreSQL run as a user would run them, on every core. Every row
//! prints the server's CPU per request and the generator's share of its core: BetterAuth's
//! generator takes about 2 % of it, so BetterAuth is not starved; stackr-auth's takes 10–40 %,
//! which is CPU stackr-auth does not get. The summary compares each server at its own best
//! connection count.

// Shared with the integration tests; a bench uses only part of it.
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/common/node.rs"]
mod node;

#[path = "get_session/cpu.rs"]
mod cpu;
#[path = "get_session/load.rs"]
mod load;

use std::process::{Child, Command};
use std::time::Duration;

use cpu::CpuMeter;
use load::Stats;
use stackr_auth::phase_timings::{self, Totals, PHASE_NAMES};

const SECRET: &str = "bench-secret-0123456789abcdef0123456789abcdef";
const ORIGIN: &str = "http://localhost:3000";
const EMAIL: &str = "bench@example.com";
const WARMUP: Duration = Duration::from_secs(2);
/// The load generator's core.
const GENERATOR_CORE: usize = 1;

/// One server configuration of the table.
struct Setup {
    name: &'static str,
    /// Which cookies it is sent: BetterAuth's cookie cache needs its `session_data` cookie too.
    cookie_cache: bool,
    kind: Kind,
}

enum Kind {
    BetterAuth { env: Vec<(&'static str, String)> },
    Ours { cache_ms: &'static str },
}

struct Row {
    setup: usize,
    connections: usize,
    stats: Stats,
    server_us_per_request: f64,
    postgres_us_per_request: f64,
    generator_share: f64,
}

fn setups() -> Vec<Setup> {
    let production = |plugins: &str, cookie_cache: &str| {
        vec![
            ("NODE_ENV", "production".to_owned()),
            ("BA_PLUGINS", plugins.to_owned()),
            ("BA_COOKIE_CACHE", cookie_cache.to_owned()),
        ]
    };
    vec![
        Setup {
            name: "BetterAuth, cookie cache",
            cookie_cache: true,
            kind: Kind::BetterAuth {
                env: production("on", "on"),
            },
        },
        Setup {
            name: "BetterAuth, no cache",
            cookie_cache: false,
            kind: Kind::BetterAuth {
                env: production("on", "off"),
            },
        },
        Setup {
            name: "BetterAuth, no plugins",
            cookie_cache: false,
            kind: Kind::BetterAuth {
                env: production("off", "off"),
            },
        },
        Setup {
            name: "BetterAuth, NODE_ENV unset",
            cookie_cache: false,
            kind: Kind::BetterAuth {
                env: vec![
                    ("BA_PLUGINS", "on".into()),
                    ("BA_COOKIE_CACHE", "off".into()),
                ],
            },
        },
        Setup {
            name: "stackr-auth, default",
            cookie_cache: false,
            kind: Kind::Ours { cache_ms: "1000" },
        },
        Setup {
            name: "stackr-auth, no cache",
            cookie_cache: false,
            kind: Kind::Ours { cache_ms: "0" },
        },
    ]
}

/// The like-for-like pairs of the summary: (stackr-auth, BetterAuth), by setup name.
const PAIRS: [(&str, &str); 2] = [
    ("stackr-auth, default", "BetterAuth, cookie cache"),
    ("stackr-auth, no cache", "BetterAuth, no cache"),
];

fn wait_http(port: u16) {
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("nothing listens on {port}");
}

/// The phase timings stackr-auth writes (see `stackr_auth::phase_timings`), zero before the first.
fn read_phases(file: &std::path::Path) -> Totals {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|line| Totals::parse(&line))
        .unwrap_or_default()
}

/// The file a stackr-auth setup writes its phase timings to.
fn phases_file(dir: &std::path::Path, cache_ms: &str) -> std::path::PathBuf {
    dir.join(format!("phases-cache-{cache_ms}"))
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
        .env(phase_timings::FILE_VAR, phases_file(dir, cache_ms))
        .env("AUTH_MAIL_DIR", dir.join("mail"))
        // The database of the bench has no password; the warning saying so is not a finding.
        .env("RUST_LOG", "error")
        .spawn()
        .expect("start stackr-auth");
    wait_http(port);
    (child, port)
}

/// Signs in at `base` and returns every cookie it set, as one `Cookie` header value.
async fn sign_in(base: &str) -> String {
    let answer = reqwest::Client::new()
        .post(format!("{base}/api/auth/sign-in/email"))
        .header("origin", ORIGIN)
        .json(&serde_json::json!({"email": EMAIL, "password": "bench-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "sign-in at {base}");
    answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One session of the bench user per connection, each as the `Cookie` header a client without a
/// cookie cache sends (the session token, signed): a server answering 64 connections answers 64
/// users, as it would in a deployment, and cannot share one lookup between them.
fn sessions_per_connection(pg: &stackr_testkit::TempPostgres, count: usize) -> Vec<String> {
    pg.psql(
        "bench",
        &format!(
            "INSERT INTO session (id, token, \"expiresAt\", \"createdAt\", \"updatedAt\", \"ipAddress\", \"userAgent\", \"userId\") \
             SELECT 'bench-session-' || g, 'bench-token-' || g, now() + interval '7 days', now(), now(), '127.0.0.1', 'stackr-bench', u.id \
             FROM generate_series(1, {count}) g, \"user\" u WHERE u.email = '{EMAIL}'"
        ),
    );
    (1..=count)
        .map(|n| {
            let token = format!("bench-token-{n}");
            format!(
                "better-auth.session_token={}",
                stackr_auth::cookie::sign_for_cookie(SECRET.as_bytes(), &token)
            )
        })
        .collect()
}

fn connection_counts() -> Vec<usize> {
    std::env::var("BENCH_CONNECTIONS")
        .unwrap_or_else(|_| "1,8,16,64".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect()
}

/// The server's own account of a run: mean wall time per get-session in each phase (concurrent
/// requests overlap: queue is the wait for a batch to go out, query the batch's round trip;
/// cache hits end after verify).
fn print_phases(run: &Totals) {
    let parts: Vec<String> = PHASE_NAMES
        .iter()
        .zip(run.micros_per_request())
        .map(|(name, us)| format!("{name} {us:.1}"))
        .collect();
    println!(
        "{:<34} phases, µs per get-session over {}: {}",
        "",
        run.requests,
        parts.join(", ")
    );
}

/// The row of `name` with the most requests per second, over all connection counts.
fn best<'r>(rows: &'r [Row], setups: &[Setup], name: &str) -> Option<&'r Row> {
    rows.iter()
        .filter(|r| setups[r.setup].name == name)
        .max_by(|a, b| a.stats.rps().total_cmp(&b.stats.rps()))
}

// One client thread, like `wrk -t1`, pinned to its own core when there are two.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let counts = connection_counts();
    let pinned = cpu::cores() >= 2 && cpu::pin_thread(0, GENERATOR_CORE);
    let pg = tokio::task::spawn_blocking(stackr_testkit::TempPostgres::start)
        .await
        .unwrap();
    let db_url = pg.create_database("bench");
    let postgres_pid: u32 = std::fs::read_to_string(pg.data_dir().join("postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next()?.trim().parse().ok())
        .expect("postmaster.pid names the server");
    let dir = tempfile::tempdir().unwrap();

    // The first BetterAuth creates the schema (plugins included) and the user; the indexes its
    // docs recommend come next; stackr-auth adopts the same database.
    let mut rows = Vec::new();
    let setups = setups();
    let mut signed_up = false;
    let max_connections = counts.iter().copied().max().unwrap_or(1);
    let mut session_cookies = Vec::new();
    println!(
        "get-session, {secs} s per run after a {} s warm-up, same PostgreSQL 15 and user; {}",
        WARMUP.as_secs(),
        if pinned {
            "load generator pinned to core 1, servers on every core"
        } else {
            "nothing pinned (one core, or the kernel refused)"
        }
    );
    println!(
        "machine load average before the run: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "{:<28} {:>5} {:>10} {:>9} {:>9} {:>7} {:>14} {:>10} {:>10}",
        "server",
        "conns",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "server µs/req",
        "pg µs/req",
        "generator"
    );
    for (index, setup) in setups.iter().enumerate() {
        let (child, ba, port) = match &setup.kind {
            Kind::BetterAuth { env } => {
                let server = {
                    let (db_url, env) = (db_url.clone(), env.clone());
                    tokio::task::spawn_blocking(move || {
                        node::BetterAuthServer::start_with(
                            stackr_testkit::free_port(),
                            &db_url,
                            SECRET,
                            ORIGIN,
                            &env,
                        )
                    })
                    .await
                    .unwrap()
                };
                if !signed_up {
                    let r = reqwest::Client::new()
                        .post(format!("{}/api/auth/sign-up/email", server.base()))
                        .header("origin", ORIGIN)
                        .json(&serde_json::json!({"name": "Bench", "email": EMAIL, "password": "bench-password-1"}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200, "BetterAuth sign-up");
                    pg.psql(
                        "bench",
                        "CREATE INDEX IF NOT EXISTS session_user_id ON session (\"userId\"); \
                         CREATE INDEX IF NOT EXISTS account_user_id ON account (\"userId\"); \
                         CREATE INDEX IF NOT EXISTS verification_identifier ON verification (identifier);",
                    );
                    signed_up = true;
                }
                let port = server.port;
                (None, Some(server), port)
            }
            Kind::Ours { cache_ms } => {
                let (child, port) = start_ours(&db_url, dir.path(), cache_ms);
                (Some(child), None, port)
            }
        };
        let pid = ba
            .as_ref()
            .map_or_else(|| child.as_ref().unwrap().id(), node::BetterAuthServer::pid);
        let base = format!("http://127.0.0.1:{port}");
        let cookie = sign_in(&base).await;
        let cookies = if setup.cookie_cache {
            // Its answer comes from the cookie alone, so one session serves every connection.
            vec![cookie]
        } else {
            if session_cookies.is_empty() {
                session_cookies = sessions_per_connection(&pg, max_connections);
            }
            session_cookies.clone()
        };
        let phases = match setup.kind {
            Kind::Ours { cache_ms } => Some(phases_file(dir.path(), cache_ms)),
            Kind::BetterAuth { .. } => None,
        };
        for &connections in &counts {
            let phases_before = phases.as_deref().map(read_phases);
            let meter = CpuMeter::start(pid, postgres_pid);
            let stats = load::load(port, &cookies, EMAIL, connections, WARMUP, secs).await;
            let cpu = meter.stop();
            // CPU is measured over warm-up and run; requests only over the run.
            let per_request = |cpu_secs: f64| {
                cpu_secs * 1e6
                    / (stats.requests.max(1) as f64 * (secs as f64 + WARMUP.as_secs_f64())
                        / secs as f64)
            };
            let row = Row {
                setup: index,
                connections,
                server_us_per_request: per_request(cpu.server_secs),
                postgres_us_per_request: per_request(cpu.postgres_secs),
                generator_share: cpu.generator_share,
                stats,
            };
            println!(
                "{:<28} {:>5} {:>10.0} {:>9.2} {:>9.2} {:>7} {:>14.0} {:>10.0} {:>9.0}%",
                setup.name,
                connections,
                row.stats.rps(),
                row.stats.pct(0.50),
                row.stats.pct(0.99),
                row.stats.errors,
                row.server_us_per_request,
                row.postgres_us_per_request,
                row.generator_share * 100.0
            );
            if let (Some(file), Some(before)) = (&phases, phases_before) {
                // The file is rewritten every 100 ms: wait for the run's last requests to show.
                tokio::time::sleep(Duration::from_millis(250)).await;
                print_phases(&read_phases(file).since(&before));
            }
            rows.push(row);
        }
        if let Some(mut child) = child {
            let _ = child.kill();
            let _ = child.wait();
        }
        drop(ba);
    }

    let load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("machine load average after the run: {}", load_avg.trim());
    println!("like for like, each server at its own best connection count:");
    for (ours, theirs) in PAIRS {
        let (Some(a), Some(b)) = (best(&rows, &setups, ours), best(&rows, &setups, theirs)) else {
            continue;
        };
        let ratio = a.stats.rps() / b.stats.rps();
        println!(
            "  {ours} ({} conns, {:.0} req/s) vs {theirs} ({} conns, {:.0} req/s): {ratio:.1}x (target >= 20x: {})",
            a.connections,
            a.stats.rps(),
            b.connections,
            b.stats.rps(),
            if ratio >= 20.0 { "MET" } else { "NOT MET" },
        );
    }
    // Auth without its cache, at 64 connections: p99 < 5 ms and >= 40x BetterAuth without its
    // cookie cache (same connection count).
    let at_64 = |name: &str| {
        rows.iter()
            .find(|r| setups[r.setup].name == name && r.connections == 64)
    };
    if let (Some(a), Some(b)) = (
        at_64("stackr-auth, no cache"),
        at_64("BetterAuth, no cache"),
    ) {
        let ratio = a.stats.rps() / b.stats.rps();
        println!(
            "stackr-auth without its cache at 64 connections: p99 {:.2} ms (target < 5 ms: {}), {ratio:.1}x BetterAuth without its cookie cache (target >= 40x: {})",
            a.stats.pct(0.99),
            if a.stats.pct(0.99) < 5.0 { "MET" } else { "NOT MET" },
            if ratio >= 40.0 { "MET" } else { "NOT MET" },
        );
    }
}
