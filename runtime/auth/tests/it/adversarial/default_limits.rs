//! Hammering the endpoints that had no rate limit (reset, verification, admin, revocation),
//! dodging the limit (and filling its memory) with a new path per request, and defeating the
//! get-session cache with cheap anonymous requests.

use std::sync::Arc;

use serde_json::json;

use super::harness::{Attack, Outcome, Stack};
use crate::common::{Client, Options};
use crate::ensure;

/// More requests than BetterAuth's default limit (100 per 10 s per address and path).
const FLOOD: usize = 110;

async fn flood(c: &mut Client, post: bool, path: &str) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..FLOOD {
        let r = if post {
            c.post(
                path,
                json!({"token": "nope", "newPassword": "password-flood-1"}),
            )
            .await
        } else {
            c.get(path).await
        };
        statuses.push(r.status);
    }
    statuses
}

async fn unlimited_endpoints(stack: Arc<Stack>) -> Outcome {
    let mut through = Vec::new();
    for (post, path) in [
        (true, "/api/auth/reset-password"),
        (false, "/api/auth/verify-email?token=nope"),
        (false, "/api/auth/admin/list-users"),
        (true, "/api/auth/revoke-sessions"),
        (true, "/api/auth/revoke-session"),
    ] {
        let mut c = stack.client();
        let statuses = flood(&mut c, post, path).await;
        if !statuses.contains(&429) {
            through.push(path);
        }
    }
    ensure!(
        through.is_empty(),
        "{FLOOD} requests from one address, no 429: {through:?}"
    );
    Ok(())
}

/// Each request to its own path: a reset link with a new token, or a path that does not exist.
async fn distinct_paths(stack: Arc<Stack>) -> Outcome {
    let mut through = Vec::new();
    for (what, path) in [
        ("reset links", "/api/auth/reset-password/guess-"),
        ("unknown paths", "/api/auth/no-such-route-"),
    ] {
        let mut c = stack.client();
        let mut statuses = Vec::new();
        for n in 0..FLOOD {
            statuses.push(c.get(&format!("{path}{n}?callbackURL=/")).await.status);
        }
        if !statuses.contains(&429) {
            through.push(what);
        }
    }
    ensure!(
        through.is_empty(),
        "{FLOOD} requests from one address, each to a path of its own, no 429: {through:?}"
    );
    Ok(())
}

async fn cache_flushed_by_anonymous_requests(_: Arc<Stack>) -> Outcome {
    // A long cache lifetime makes the flush observable: a change behind the service's back stays
    // unseen until something flushes the cache.
    let stack = Stack::start_with(Options {
        rate_limits: true,
        session_cache_ms: Some(600_000),
        ..Default::default()
    })
    .await;
    let (mut owner, user) = stack.user("cached").await;
    assert_eq!(owner.session().await["user"]["name"], "cached");
    let client = stack.server.state.db().await.unwrap();
    client
        .execute(
            r#"update "user" set "name" = 'changed behind the back' where "id" = $1"#,
            &[&user.id],
        )
        .await
        .unwrap();
    assert_eq!(owner.session().await["user"]["name"], "cached", "cache hit");
    let mut anon = stack.client();
    let mut flushed_by = Vec::new();
    for (method, path) in [
        ("POST", "/api/auth/ok"),
        ("POST", "/api/auth/no-such-route"),
        ("POST", "/api/auth/sign-out"),
        ("POST", "/api/auth/get-session"),
        ("PUT", "/api/auth/update-user"),
        ("POST", "/api/auth/revoke-sessions"),
    ] {
        let req = anon
            .raw()
            .request(method.parse().unwrap(), anon.url(path))
            .header("origin", crate::common::APP_ORIGIN)
            .json(&json!({}));
        anon.send(req).await;
        if owner.session().await["user"]["name"] != "cached" {
            flushed_by.push(format!("{method} {path}"));
            break;
        }
    }
    ensure!(
        flushed_by.is_empty(),
        "an anonymous request that changed nothing flushed the session cache: {flushed_by:?}"
    );
    Ok(())
}

pub fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            attack:
                "110 requests from one address to reset-password, verify-email, admin, revocation",
            refusal: "429 once the default limit (100 per 10 s) is reached",
            run: |s| Box::pin(unlimited_endpoints(s)),
        },
        Attack {
            attack:
                "110 requests from one address, each to its own reset-link token or unknown path",
            refusal: "429 once the default limit is reached: one counter per route, not per path",
            run: |s| Box::pin(distinct_paths(s)),
        },
        Attack {
            attack: "anonymous non-GET requests (405, 404, 401) to flush auth's session cache",
            refusal: "the cache is flushed only by successful changes",
            run: |s| Box::pin(cache_flushed_by_anonymous_requests(s)),
        },
    ]
}
