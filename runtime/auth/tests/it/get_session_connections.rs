//! get-session under concurrency, without its cache: concurrent calls share a few connections
//! (pipelined) instead of one each, survive PostgreSQL closing them, and a fresh session is read,
//! never written.

use crate::common::{Options, TestServer};

/// Connections auth holds on its database, as PostgreSQL counts them.
fn auth_connections(server: &TestServer) -> usize {
    server
        .psql("select count(*) from pg_stat_activity where usename = 'auth'")
        .parse()
        .unwrap()
}

async fn cache_off() -> TestServer {
    TestServer::start_with(Options {
        session_cache_ms: Some(0),
        ..Options::default()
    })
    .await
}

/// `calls` get-sessions sent at once with `cookie`; their answers.
async fn get_sessions_at_once(
    server: &TestServer,
    cookie: &str,
    calls: usize,
) -> Vec<reqwest::Result<reqwest::Response>> {
    let http = reqwest::Client::new();
    futures_join_all((0..calls).map(|_| {
        http.get(format!("{}/api/auth/get-session", server.base))
            .header("cookie", cookie)
            .send()
    }))
    .await
}

/// `calls` get-sessions at once with `cookie`; every answer must show the signed-in user.
async fn concurrent_get_sessions(server: &TestServer, cookie: &str, calls: usize) {
    for answer in get_sessions_at_once(server, cookie, calls).await {
        let answer = answer.unwrap();
        assert_eq!(answer.status(), 200);
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["user"]["email"], "pat@example.com", "{body}");
    }
}

/// Awaits every future, concurrently (no extra dependency for `join_all`).
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for task in tasks {
        outputs.push(task.await.unwrap());
    }
    outputs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_get_sessions_share_a_few_connections() {
    let server = cache_off().await;
    let mut c = server.client();
    c.sign_up("Pat", "pat@example.com", "password-123").await;
    let cookie = c.cookie_header();
    let before = auth_connections(&server);
    for _ in 0..10 {
        concurrent_get_sessions(&server, &cookie, 64).await;
    }
    let after = auth_connections(&server);
    // The pool (16 by default) would have opened one connection per waiting call.
    assert!(
        after <= before + 4,
        "64 concurrent get-sessions opened {} connections (from {before} to {after})",
        after - before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_session_survives_postgres_closing_its_connections() {
    let server = cache_off().await;
    let mut c = server.client();
    c.sign_up("Pat", "pat@example.com", "password-123").await;
    let cookie = c.cookie_header();
    concurrent_get_sessions(&server, &cookie, 16).await;
    server.psql("select pg_terminate_backend(pid) from pg_stat_activity where usename = 'auth'");
    // A call racing with the termination may fail; the closed connections are then replaced,
    // not kept: soon every call succeeds again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !all_answer(&server, &cookie, 16).await {
        assert!(
            std::time::Instant::now() < deadline,
            "get-session still fails 10 s after PostgreSQL closed its connections"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for _ in 0..3 {
        concurrent_get_sessions(&server, &cookie, 16).await;
    }
}

/// Whether `calls` concurrent get-sessions all answered 200.
async fn all_answer(server: &TestServer, cookie: &str, calls: usize) -> bool {
    get_sessions_at_once(server, cookie, calls)
        .await
        .into_iter()
        .all(|a| a.is_ok_and(|a| a.status() == 200))
}

#[tokio::test]
async fn a_fresh_session_is_read_never_written() {
    let server = cache_off().await;
    let mut c = server.client();
    let r = c.sign_up("Pat", "pat@example.com", "password-123").await;
    let token = r.json()["token"].as_str().unwrap().to_owned();
    let row = || {
        server.psql(&format!(
            r#"select "expiresAt", "updatedAt", xmin from "session" where "token" = '{token}'"#
        ))
    };
    let before = row();
    let cookie = c.cookie_header();
    concurrent_get_sessions(&server, &cookie, 8).await;
    assert_eq!(
        row(),
        before,
        "no get-session of a fresh session updates its row"
    );
}
