//! Differential test: the same requests against the real BetterAuth 1.7.25 and stackr-auth (each
//! with its own database in one PostgreSQL), comparing status codes, error bodies and the key
//! order of success bodies. Any difference fails the test and is printed side by side.

mod common;
#[path = "common/node.rs"]
mod node;

use common::*;
use serde_json::{json, Value};

/// What we compare for one request: status, and either the full body (errors, small answers) or
/// its shape (key lists) when values are necessarily different (ids, tokens, dates).
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Array(
            m.iter()
                .map(|(k, v)| match v {
                    Value::Object(_) => json!({ k.clone(): shape(v) }),
                    _ => Value::String(k.clone()),
                })
                .collect(),
        ),
        Value::Array(a) => json!({"array_len": a.len(), "first": a.first().map(shape)}),
        other => json!(format!(
            "<{}>",
            if other.is_null() { "null" } else { "value" }
        )),
    }
}

/// `http://localhost:<port>` → `<baseURL>` (the two servers listen on different ports).
fn normalize_base(location: &str) -> String {
    match location.strip_prefix("http://localhost:") {
        Some(rest) => format!(
            "<baseURL>{}",
            rest.trim_start_matches(|c: char| c.is_ascii_digit())
        ),
        None => location.to_owned(),
    }
}

struct Run {
    client: Client,
    results: Vec<(String, Value)>,
}

impl Run {
    fn record(&mut self, name: &str, r: &Response, full: bool) {
        let body = if r.text.is_empty() {
            json!("<empty>")
        } else {
            match serde_json::from_str::<Value>(&r.text) {
                Ok(v) if full => v,
                Ok(v) => shape(&v),
                Err(_) => json!("<not json>"),
            }
        };
        self.results
            .push((name.to_owned(), json!({"status": r.status, "body": body})));
    }

    fn record_code(&mut self, name: &str, r: &Response) {
        let code = serde_json::from_str::<Value>(&r.text)
            .ok()
            .and_then(|v| v.get("code").cloned());
        self.results
            .push((name.to_owned(), json!({"status": r.status, "code": code})));
    }
}

async fn scenario(base: &str) -> Vec<(String, Value)> {
    let mut run = Run {
        client: Client::new(base),
        results: vec![],
    };
    let c = &mut run.client;
    let r = c.get("/api/auth/get-session").await;
    run.record("get-session anonymous", &r, true);
    let c = &mut run.client;
    let r = c
        .sign_up("Alice", "alice@example.com", "password-123")
        .await;
    run.record("sign-up", &r, false);
    let r = run
        .client
        .sign_up("Alice", "alice@example.com", "password-123")
        .await;
    run.record("sign-up duplicate", &r, true);
    let r = run.client.sign_up("Al", "al@example.com", "short").await;
    run.record("sign-up short password", &r, true);
    let r = run
        .client
        .sign_up("Al", "not-an-email", "password-123")
        .await;
    run.record_code("sign-up invalid email", &r);
    let r = run
        .client
        .post(
            "/api/auth/sign-up/email",
            json!({"email": "x@example.com", "password": "password-123"}),
        )
        .await;
    run.record("sign-up missing name", &r, true);
    let r = run
        .client
        .post("/api/auth/sign-up/email", json!({"name": "M", "email": "m@example.com", "password": "password-123", "role": "admin"}))
        .await;
    run.record("sign-up with role", &r, true);

    let mut anon = Client::new(base);
    let r = anon.sign_in("alice@example.com", "wrong-password").await;
    run.record("sign-in wrong password", &r, true);
    let r = anon.sign_in("nobody@example.com", "password-123").await;
    run.record("sign-in unknown email", &r, true);
    let r = anon.sign_in("alice@example.com", "password-123").await;
    run.record("sign-in", &r, false);
    let r = anon
        .post("/api/auth/sign-in/email", json!({"email": "alice@example.com", "password": "password-123", "callbackURL": "/dashboard"}))
        .await;
    run.record("sign-in with callbackURL", &r, false);
    run.results.push((
        "sign-in callbackURL location".into(),
        json!(r.headers.get("location").map(|v| v.to_str().unwrap())),
    ));

    let c = &mut run.client;
    let r = c.get("/api/auth/get-session").await;
    run.record("get-session", &r, false);
    let r = run.client.post("/api/auth/update-user", json!({})).await;
    run.record("update-user nothing", &r, true);
    let r = run
        .client
        .post("/api/auth/update-user", json!({"email": "new@example.com"}))
        .await;
    run.record("update-user email", &r, true);
    let r = run
        .client
        .post("/api/auth/update-user", json!({"name": "Alice B"}))
        .await;
    run.record("update-user name", &r, true);
    run.client.origin = None;
    let r = run
        .client
        .post("/api/auth/update-user", json!({"name": "X"}))
        .await;
    run.record("update-user no origin", &r, true);
    run.client.origin = Some("https://evil.example".into());
    let r = run
        .client
        .post("/api/auth/update-user", json!({"name": "X"}))
        .await;
    run.record("update-user evil origin", &r, true);
    run.client.origin = Some(APP_ORIGIN.into());
    let r = run
        .client
        .post(
            "/api/auth/change-password",
            json!({"currentPassword": "wrong-pass-1", "newPassword": "password-456"}),
        )
        .await;
    run.record("change-password wrong current", &r, true);
    let r = run
        .client
        .post(
            "/api/auth/change-password",
            json!({"currentPassword": "password-123", "newPassword": "password-456"}),
        )
        .await;
    run.record("change-password", &r, false);
    let r = run.client.get("/api/auth/list-sessions").await;
    run.record("list-sessions", &r, false);
    let r = run
        .client
        .post(
            "/api/auth/revoke-session",
            json!({"token": "unknown-token"}),
        )
        .await;
    run.record("revoke-session unknown", &r, true);
    let r = run
        .client
        .post("/api/auth/revoke-other-sessions", json!({}))
        .await;
    run.record("revoke-other-sessions", &r, true);
    let r = run
        .client
        .post(
            "/api/auth/send-verification-email",
            json!({"email": "other@example.com"}),
        )
        .await;
    run.record("send-verification-email mismatch", &r, true);
    let r = run.client.get("/api/auth/admin/list-users").await;
    run.record("admin list-users as user", &r, true);

    let mut anon = Client::new(base);
    let r = anon
        .post(
            "/api/auth/reset-password",
            json!({"newPassword": "password-789", "token": "bogus"}),
        )
        .await;
    run.record("reset-password bad token", &r, true);
    let r = anon
        .post(
            "/api/auth/request-password-reset",
            json!({"email": "nobody@example.com"}),
        )
        .await;
    run.record("request-password-reset unknown", &r, true);
    let r = anon
        .post(
            "/api/auth/request-password-reset",
            json!({"email": "alice@example.com", "redirectTo": "https://evil.example/"}),
        )
        .await;
    run.record("request-password-reset evil redirect", &r, true);
    let r = anon.get("/api/auth/verify-email?token=garbage").await;
    run.record("verify-email garbage", &r, true);
    let r = anon
        .get("/api/auth/reset-password/bogus?callbackURL=%2Freset")
        .await;
    run.results.push(("reset-password link bad token".into(), json!({"status": r.status, "location": r.headers.get("location").map(|v| normalize_base(v.to_str().unwrap()))})));
    let r = anon.get("/api/auth/nope").await;
    run.record("unknown route", &r, true);
    let r = anon.post("/api/auth/get-session", json!({})).await;
    run.record("POST get-session", &r, true);
    let r = anon.get("/api/auth/admin/list-users").await;
    run.record("admin list-users anonymous", &r, true);
    let r = anon.get("/api/auth/list-sessions").await;
    run.record("list-sessions anonymous", &r, true);
    let r = anon.get("/api/auth/ok").await;
    run.record("ok", &r, true);
    let req = anon
        .raw()
        .post(anon.url("/api/auth/sign-in/email"))
        .header("content-type", "text/plain")
        .body("hi");
    let r = anon.send(req).await;
    run.record_code("sign-in text/plain", &r);
    let req = anon
        .raw()
        .post(anon.url("/api/auth/sign-in/email"))
        .header("content-type", "application/json")
        .body("{nope");
    let r = anon.send(req).await;
    run.record("sign-in invalid JSON", &r, true);
    let req = anon
        .raw()
        .post(anon.url("/api/auth/sign-in/email"))
        .header("sec-fetch-mode", "cors")
        .json(&json!({"email": "a@b.co", "password": "x"}));
    let r = anon.send(req).await;
    run.record("sign-in fetch without origin", &r, true);

    let r = run.client.post("/api/auth/sign-out", json!({})).await;
    run.record("sign-out", &r, true);
    run.results
        .push(("sign-out set-cookie".into(), json!(r.set_cookies())));
    let r = run.client.post("/api/auth/sign-out", json!({})).await;
    run.record("sign-out again", &r, true);
    run.results
}

#[tokio::test]
async fn stackr_auth_answers_like_betterauth() {
    let pg = tokio::task::spawn_blocking(stackr_testkit::TempPostgres::start)
        .await
        .unwrap();
    let ba_db = pg.create_database("ba");
    let our_db = pg.create_database("ours");
    let ba = tokio::task::spawn_blocking(move || {
        node::BetterAuthServer::start(&ba_db, SECRET, APP_ORIGIN)
    })
    .await
    .unwrap();
    let ours = TestServer::start_on(pg, our_db, Options::default()).await;

    let theirs = scenario(&ba.base()).await;
    let mine = scenario(&ours.base).await;
    let mut differences = vec![];
    for ((name, a), (_, b)) in theirs.iter().zip(mine.iter()) {
        if a != b {
            differences.push(format!("{name}\n  BetterAuth:  {a}\n  stackr-auth: {b}"));
        }
    }
    assert_eq!(theirs.len(), mine.len());
    assert!(
        differences.is_empty(),
        "{} difference(s):\n{}",
        differences.len(),
        differences.join("\n")
    );
    drop(ba);
}
