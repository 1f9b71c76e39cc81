//! Server-side render time of the admin dashboard's pages with 10,000 users: each page is
//! requested in-process (router only, no network), signed in as an admin, and p50/p95 printed.
//! The dashboard aims at under 50 ms per page.
//!
//! Run: `cargo bench -p stackr-auth --bench admin_dashboard` (env `BENCH_ROUNDS`, default 50).

// Shared with the integration tests; a bench uses only part of it.
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

const USERS: usize = 10_000;

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let server = common::TestServer::start().await;
    let mut admin = server.client();
    admin
        .sign_up("Root", "root@example.com", "password-123")
        .await;
    server.psql(r#"update "user" set "role" = 'admin' where "email" = 'root@example.com'"#);
    server.psql(&format!(
        r#"insert into "user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt", "role", "banned")
           select 'bench-' || n, 'User ' || n, 'user' || n || '@example.com', n % 2 = 0,
                  now() - n * interval '1 minute', now(), case when n % 50 = 0 then 'admin' else 'user' end, n % 97 = 0
           from generate_series(1, {USERS}) n"#
    ));
    server.psql(r#"analyze "user""#);
    let cookie = admin.cookie_header();
    let router = stackr_auth::admin_page::router(server.state.clone());
    let pages = [
        "/",
        "/?q=user42&field=email",
        "/?role=admin&sort=email&dir=asc&page=3",
        "/?banned=yes",
        "/?q=User%209&field=name&page=20",
        "/users/bench-5000",
        "/audit",
    ];
    println!("admin dashboard, {USERS} users, {rounds} rounds per page (server-side, in-process):");
    for page in pages {
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            // The dashboard answers only requests that name it (421 otherwise), as a browser's do.
            let req = Request::get(page)
                .header("host", "localhost")
                .header("cookie", &cookie)
                .body(Body::empty())
                .unwrap();
            let started = Instant::now();
            let res = router.clone().oneshot(req).await.unwrap();
            let status = res.status();
            let _ = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .unwrap();
            times.push(started.elapsed());
            assert_eq!(status, 200, "{page}");
        }
        times.sort();
        println!(
            "  {page:<42} p50 {:7.2} ms  p95 {:7.2} ms",
            pct(&times, 0.5),
            pct(&times, 0.95)
        );
    }
}
