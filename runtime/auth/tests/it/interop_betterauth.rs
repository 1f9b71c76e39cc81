//! Interop with the real BetterAuth 1.7.25 (pinned in `interop/package-lock.json`):
//!
//! * BetterAuth's own JS client (`createAuthClient`) drives stackr-auth: sign up, get session,
//!   sign out, sign in, wrong password — and sees exactly what it sees against BetterAuth;
//! * a cookie minted by a real BetterAuth server (same secret, same database) is accepted by
//!   stackr-auth, and the other way round;
//! * a user whose password BetterAuth hashed (scrypt) signs in to stackr-auth and is upgraded to
//!   argon2id.
//!
//! Needs `node` (>= 20.19) and `npm` (the test runs `npm ci` when node_modules is missing).

use crate::common;
use crate::common::node;

use common::*;
use serde_json::json;

/// Reads the stored password hash of the user BetterAuth signed up.
const MIGRATED_HASH_QUERY: &str = r#"select a."password" from "account" a join "user" u on u.id = a."userId" where u.email = 'migrated@example.com'"#;

/// What `GET /api/auth/get-session` at `base` answers for `cookie`.
async fn session_seen_by(http: &reqwest::Client, base: &str, cookie: &str) -> serde_json::Value {
    http.get(format!("{base}/api/auth/get-session"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn betterauth_client_and_server_interoperate_with_stackr_auth() {
    let pg = tokio::task::spawn_blocking(stackr_testkit::TempPostgres::start)
        .await
        .unwrap();
    let db_url = pg.create_database("shared");
    // BetterAuth creates the schema first; stackr-auth then adopts the same database.
    let ba = {
        let db_url = db_url.clone();
        tokio::task::spawn_blocking(move || {
            node::BetterAuthServer::start(&db_url, SECRET, APP_ORIGIN)
        })
        .await
        .unwrap()
    };
    let ours = TestServer::start_on(pg, db_url, Options::default()).await;

    // 1. BetterAuth's JS client against stackr-auth, and against BetterAuth for comparison.
    let our_api = format!("{}/api/auth", ours.base);
    let ba_api = format!("{}/api/auth", ba.base());
    let ((ok_ours, seen_ours), (ok_ba, seen_ba)) = tokio::task::spawn_blocking(move || {
        (
            node::run_script(
                "client-flow.mjs",
                &[&our_api, APP_ORIGIN, "client@example.com"],
            ),
            node::run_script(
                "client-flow.mjs",
                &[&ba_api, APP_ORIGIN, "client-ba@example.com"],
            ),
        )
    })
    .await
    .unwrap();
    assert!(
        ok_ba,
        "the script itself works against BetterAuth: {seen_ba}"
    );
    assert!(
        ok_ours,
        "BetterAuth client against stackr-auth: {seen_ours}"
    );
    assert_eq!(seen_ours["signUpUserEmail"], "client@example.com");
    assert_eq!(seen_ours["sessionEmail"], "client@example.com");
    assert_eq!(seen_ours["sessionToken"], seen_ours["signUpToken"]);
    assert_eq!(seen_ours["signUpCreatedAtIsDate"], true);
    assert_eq!(seen_ours["sessionExpiresAtIsDate"], true);
    assert_eq!(seen_ours["signOut"], json!({"success": true}));
    assert_eq!(seen_ours["sessionAfterSignOut"], json!(null));
    assert_eq!(seen_ours["sessionAfterSignIn"], "client@example.com");
    assert_eq!(seen_ours["signInRedirect"], false);
    // Same error the client reports against BetterAuth itself.
    assert_eq!(
        seen_ours["wrongPasswordError"],
        seen_ba["wrongPasswordError"]
    );
    assert_eq!(
        seen_ours["wrongPasswordError"]["code"],
        "INVALID_EMAIL_OR_PASSWORD"
    );
    // The same cookies, and stackr's own known-device cookie, which the client keeps like any.
    let mut cookie_names: Vec<serde_json::Value> =
        seen_ours["cookieNames"].as_array().unwrap().clone();
    let known_device = cookie_names.iter().position(|name| {
        name.as_str()
            .is_some_and(crate::common::differential::is_known_device_cookie)
    });
    assert!(known_device.is_some(), "{cookie_names:?}");
    cookie_names.remove(known_device.unwrap());
    assert_eq!(json!(cookie_names), seen_ba["cookieNames"]);

    // 2. A cookie minted by the real BetterAuth is accepted by stackr-auth.
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/auth/sign-up/email", ba.base()))
        .header("origin", APP_ORIGIN)
        .json(&json!({"name": "Migrated", "email": "migrated@example.com", "password": "betterauth-pass-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let ba_token = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ba_cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert!(ba_cookie.starts_with("better-auth.session_token="));
    let ours_view = session_seen_by(&http, &ours.base, &ba_cookie).await;
    assert_eq!(ours_view["session"]["token"], ba_token.as_str());
    assert_eq!(ours_view["user"]["email"], "migrated@example.com");

    // 3. BetterAuth's scrypt hash verifies in stackr-auth and is upgraded to argon2id.
    let before = ours.psql(MIGRATED_HASH_QUERY);
    assert!(
        before.contains(':') && !before.starts_with('$'),
        "BetterAuth scrypt format: {before}"
    );
    let mut c = ours.client();
    let r = c.sign_in("migrated@example.com", "wrong-password-9").await;
    assert_eq!(r.status, 401);
    let r = c.sign_in("migrated@example.com", "betterauth-pass-1").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let after = ours.psql(MIGRATED_HASH_QUERY);
    assert!(after.starts_with("$argon2id$"), "upgraded: {after}");
    let r = c.sign_in("migrated@example.com", "betterauth-pass-1").await;
    assert_eq!(r.status, 200, "argon2id hash verifies too");

    // 4. And a cookie minted by stackr-auth is accepted by BetterAuth.
    let ba_view = session_seen_by(&http, &ba.base(), &c.cookie_header()).await;
    assert_eq!(ba_view["user"]["email"], "migrated@example.com");
    assert_eq!(
        ba_view["session"]["token"],
        c.session().await["session"]["token"]
    );
    drop(ba);
}
