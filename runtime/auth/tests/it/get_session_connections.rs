//! get-session under concurrency, without its cache: concurrent calls are read together, in
//! batches, on a few connections instead of one each; every caller gets its own session and
//! nobody else's; reads survive PostgreSQL closing the connections; a fresh session is read,
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
    // The closed connections are replaced, not kept (calls racing the termination itself are
    // the next test's).
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

/// `users` signed-up users with `per_user` sessions each (inserted beside the sign-up's own):
/// (email, token) of every inserted session.
async fn sessions_of_many_users(
    server: &TestServer,
    users: usize,
    per_user: usize,
) -> Vec<(String, String)> {
    let mut sessions = Vec::new();
    for u in 0..users {
        let email = format!("user{u}@example.com");
        server
            .client()
            .sign_up(&format!("User {u}"), &email, "password-123")
            .await;
        server.psql(&format!(
            r#"insert into "session" ("id", "token", "expiresAt", "createdAt", "updatedAt", "userId")
               select 'extra-{u}-' || n, 'token-{u}-' || n, now() + interval '7 days', now(), now(), u."id"
               from generate_series(1, {per_user}) n, "user" u where u."email" = '{email}'"#
        ));
        sessions.extend((1..=per_user).map(|n| (email.clone(), format!("token-{u}-{n}"))));
    }
    sessions
}

/// The `Cookie` header of a client holding session `token`.
fn session_cookie(token: &str) -> String {
    format!(
        "better-auth.session_token={}",
        stackr_auth::cookie::sign_for_cookie(crate::common::SECRET.as_bytes(), token)
    )
}

// Lookups queued together are read by one statement, and each gets its own row. On a
// current-thread runtime every lookup task below runs (and queues its lookup) before a reader
// does, so they form one batch.
#[tokio::test]
async fn lookups_waiting_together_are_read_by_one_statement_each_getting_its_own_session() {
    let server = cache_off().await;
    let sessions = sessions_of_many_users(&server, 4, 16).await;
    let unknown: Vec<String> = (0..4).map(|n| format!("no-such-token-{n}")).collect();
    let tokens: Vec<&str> = sessions
        .iter()
        .map(|(_, token)| token.as_str())
        .chain(unknown.iter().map(String::as_str))
        .collect();
    let lookups = tokens.iter().map(|token| {
        let (state, token) = (server.state.clone(), token.to_string());
        async move {
            state
                .session_reads
                .find(&token)
                .await
                .expect("the batch reads")
        }
    });
    let found = futures_join_all(lookups).await;
    let statements: std::collections::HashSet<_> = found.iter().map(|f| f.sent).collect();
    assert_eq!(
        statements.len(),
        1,
        "{} lookups waiting together took {} statements",
        tokens.len(),
        statements.len()
    );
    for ((email, token), f) in sessions.iter().zip(&found) {
        let (session, user) = f.session.as_ref().expect("a known token finds its session");
        assert_eq!(&session.token, token);
        assert_eq!(
            &user.email, email,
            "the session of {token} answered with another user"
        );
    }
    for f in &found[sessions.len()..] {
        assert!(f.session.is_none(), "an unknown token found a session");
    }
}

// Over HTTP, many users' get-sessions at once: each answer is its caller's own, unknown tokens
// get null, and an expired session gets null and is deleted, however the calls are batched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_get_sessions_of_many_users_each_answer_their_own_caller() {
    let server = cache_off().await;
    let sessions = sessions_of_many_users(&server, 8, 8).await;
    let (_, expired) = &sessions[0];
    server.psql(&format!(
        r#"update "session" set "expiresAt" = now() - interval '1 minute' where "token" = '{expired}'"#
    ));
    let http = reqwest::Client::new();
    for round in 0..5 {
        let calls = sessions
            .iter()
            .map(|(email, token)| (Some(email.clone()), token.clone()))
            .chain((0..4).map(|n| (None, format!("no-such-token-{n}"))))
            .map(|(email, token)| {
                let request = http
                    .get(format!("{}/api/auth/get-session", server.base))
                    .header("cookie", session_cookie(&token))
                    .send();
                async move {
                    let body: serde_json::Value = request.await.unwrap().json().await.unwrap();
                    (email, token, body)
                }
            });
        for (email, token, body) in futures_join_all(calls).await {
            match email {
                Some(email) if &token != expired => {
                    assert_eq!(
                        body["user"]["email"],
                        email.as_str(),
                        "round {round}, {token}: {body}"
                    );
                    assert_eq!(
                        body["session"]["token"],
                        token.as_str(),
                        "round {round}: {body}"
                    );
                }
                _ => assert!(body.is_null(), "round {round}, {token}: {body}"),
            }
        }
    }
    let left = server.psql(&format!(
        r#"select count(*) from "session" where "token" = '{expired}'"#
    ));
    assert_eq!(left, "0", "the expired session is deleted");
}

/// A row auth cannot read (a date past chrono's range, which BetterAuth or a manual edit can
/// write: `infinity`) fails that user's lookup only: every other user's get-session keeps
/// answering, however often the unreadable one is asked for, alone or in a batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_row_fails_its_own_lookup_only() {
    let server = cache_off().await;
    let sessions = sessions_of_many_users(&server, 3, 1).await;
    server
        .psql(r#"update "user" set "banExpires" = 'infinity' where "email" = 'user2@example.com'"#);
    let unreadable = session_cookie(&sessions[2].1);
    let http = reqwest::Client::new();
    let get = |cookie: String| {
        http.get(format!("{}/api/auth/get-session", server.base))
            .header("cookie", cookie)
            .send()
    };
    for _ in 0..12 {
        let answers = futures_join_all(
            [&unreadable, &session_cookie(&sessions[0].1)]
                .into_iter()
                .map(|cookie| get(cookie.clone())),
        )
        .await;
        assert_eq!(answers[0].as_ref().unwrap().status(), 500);
    }
    for (email, token) in &sessions[..2] {
        let answer = get(session_cookie(token)).await.unwrap();
        assert_eq!(answer.status(), 200, "{email}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(&body["user"]["email"], email.as_str(), "{body}");
    }
}

/// A token PostgreSQL cannot take as text (a NUL in it) has no session: it neither fails nor
/// joins the statement the other lookups waiting with it share.
#[tokio::test]
async fn a_token_with_a_nul_finds_nothing_and_fails_no_other_lookup() {
    let server = cache_off().await;
    let sessions = sessions_of_many_users(&server, 2, 4).await;
    let tokens: Vec<String> = sessions
        .iter()
        .map(|(_, token)| token.clone())
        .chain(["bad\0token".to_owned()])
        .collect();
    let lookups = tokens.iter().map(|token| {
        let (state, token) = (server.state.clone(), token.clone());
        async move { state.session_reads.find(&token).await }
    });
    let found = futures_join_all(lookups).await;
    for ((_, token), f) in sessions.iter().zip(&found) {
        let found = f.as_ref().expect("the other lookups read");
        assert_eq!(&found.session.as_ref().unwrap().0.token, token);
    }
    let nul = found
        .last()
        .unwrap()
        .as_ref()
        .expect("no error for a NUL token");
    assert!(nul.session.is_none());
}

/// The sliding refresh writes over the expiry it read, and nothing else: a session expired (or
/// refreshed) since then stays as it is now, however late the refresh comes.
#[tokio::test]
async fn a_refresh_does_not_write_over_an_expiry_changed_since_it_was_read() {
    let server = cache_off().await;
    let sessions = sessions_of_many_users(&server, 1, 1).await;
    let token = &sessions[0].1;
    let read = server
        .state
        .session_reads
        .find(token)
        .await
        .unwrap()
        .session
        .unwrap()
        .0;
    let expired_meanwhile = r#"update "session" set "expiresAt" = now() - interval '1 second'"#;
    server.psql(&format!(r#"{expired_meanwhile} where "token" = '{token}'"#));
    let stored = || {
        server.psql(&format!(
            r#"select "expiresAt" < now() from "session" where "token" = '{token}'"#
        ))
    };
    assert_eq!(stored(), "t");

    let client = server.state.pool.get().await.unwrap();
    let later = chrono::Utc::now() + chrono::Duration::days(7);
    let refreshed = stackr_auth::db::sessions::extend(&client, &read.id, read.expires_at, later)
        .await
        .unwrap();
    assert_eq!(refreshed, None, "a changed row is not refreshed");
    assert_eq!(stored(), "t", "the session stays expired");
}

/// get-sessions racing PostgreSQL ending auth's connections (`pg_terminate_backend`, as an
/// operator or a failover does) still answer: a read that meets a connection being ended is
/// made again on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_sessions_racing_the_end_of_their_connections_all_answer() {
    let server = cache_off().await;
    let mut c = server.client();
    c.sign_up("Pat", "pat@example.com", "password-123").await;
    let cookie = c.cookie_header();
    for round in 0..20 {
        concurrent_get_sessions(&server, &cookie, 8).await;
        let terminating = tokio::process::Command::from(server.pg.psql_command("postgres"))
            .args([
                "-q",
                "-c",
                "select pg_terminate_backend(pid) from pg_stat_activity where usename = 'auth'",
            ])
            .status();
        let (terminated, answers) =
            tokio::join!(terminating, get_sessions_at_once(&server, &cookie, 8));
        assert!(terminated.unwrap().success());
        for answer in answers {
            let status = answer.map(|r| r.status().as_u16());
            assert_eq!(status.map_err(|e| e.to_string()), Ok(200), "round {round}");
        }
    }
}
