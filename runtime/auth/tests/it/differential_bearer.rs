//! Differential test of BetterAuth's bearer plugin (for apps that cannot keep cookies): the
//! `set-auth-token` header on answers that set the session cookie, and `Authorization: Bearer`
//! accepted in place of the cookie (signed or raw token, percent-encoded or not), against the
//! real BetterAuth 1.7.25 and stackr-auth.

use crate::common;
use crate::common::differential;

use common::*;
use differential::*;
use serde_json::{json, Value};

/// What the bearer plugin adds to an answer: whether `set-auth-token` is the session cookie's
/// decoded value, and the `Access-Control-Expose-Headers` it sets.
fn auth_token_header(r: &Response) -> Value {
    let token = r
        .headers
        .get("set-auth-token")
        .map(|v| v.to_str().unwrap().to_owned());
    let cookie = r.set_cookie("better-auth.session_token").map(|c| {
        let value = c.split(';').next().unwrap().split_once('=').unwrap().1;
        percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .unwrap()
            .into_owned()
    });
    json!({
        "set-auth-token": token.as_ref().map(|t| if Some(t) == cookie.as_ref() { "the session cookie's value" } else { "something else" }),
        "expose": r.headers.get("access-control-expose-headers").map(|v| v.to_str().unwrap()),
    })
}

/// A request of an app that keeps no cookies: `Authorization: <authorization>`, no `Origin`.
async fn app_request(
    base: &str,
    method: reqwest::Method,
    path: &str,
    authorization: &str,
    body: Option<Value>,
) -> Response {
    let mut app = Client::new(base);
    let mut req = app
        .raw()
        .request(method, app.url(path))
        .header("authorization", authorization);
    if let Some(body) = body {
        req = req.json(&body);
    }
    app.send(req).await
}

async fn scenario(base: &str) -> Vec<(String, Value)> {
    let mut run = Run {
        client: Client::new(base),
        results: vec![],
    };
    let r = run
        .client
        .sign_up("Bea", "bea@example.com", "password-123")
        .await;
    run.results
        .push(("sign-up bearer headers".into(), auth_token_header(&r)));
    let r = run.client.sign_in("bea@example.com", "password-123").await;
    run.results
        .push(("sign-in bearer headers".into(), auth_token_header(&r)));
    let signed = r.headers["set-auth-token"].to_str().unwrap().to_owned();
    let raw = signed.rsplit_once('.').unwrap().0.to_owned();
    let encoded = signed
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let tampered = format!("{raw}.{}", "A".repeat(43) + "=");
    let get = reqwest::Method::GET;
    for (name, authorization) in [
        ("signed", format!("Bearer {signed}")),
        ("raw", format!("Bearer {raw}")),
        ("percent-encoded", format!("Bearer {encoded}")),
        ("lower-case scheme", format!("bearer {signed}")),
        ("tampered", format!("Bearer {tampered}")),
        ("other scheme", format!("Basic {signed}")),
        ("empty", "Bearer ".to_owned()),
    ] {
        let r = app_request(
            base,
            get.clone(),
            "/api/auth/get-session",
            &authorization,
            None,
        )
        .await;
        run.record(&format!("get-session bearer {name}"), &r, false);
    }
    let bearer = format!("Bearer {signed}");
    let r = app_request(base, get.clone(), "/api/auth/list-sessions", &bearer, None).await;
    run.record("list-sessions bearer", &r, false);
    let r = app_request(
        base,
        reqwest::Method::POST,
        "/api/auth/update-user",
        &bearer,
        Some(json!({"name": "Bea B"})),
    )
    .await;
    run.record("update-user bearer without origin", &r, true);
    run.results
        .push(("update-user bearer headers".into(), auth_token_header(&r)));
    let r = app_request(
        base,
        reqwest::Method::POST,
        "/api/auth/sign-out",
        &bearer,
        Some(json!({})),
    )
    .await;
    run.record("sign-out bearer", &r, true);
    let r = app_request(base, get, "/api/auth/get-session", &bearer, None).await;
    run.record("get-session bearer after sign-out", &r, true);
    run.results
}

#[tokio::test]
async fn the_bearer_plugin_answers_like_betterauth() {
    let pair = Pair::start().await;
    let theirs = scenario(&pair.ba.base()).await;
    let mine = scenario(&pair.ours.base).await;
    compare(&theirs, &mine, &[]);
}
