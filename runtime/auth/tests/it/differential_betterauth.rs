//! Differential test: the same requests against the real BetterAuth 1.7.25 and stackr-auth (each
//! with its own database in one PostgreSQL), comparing status codes, error bodies and the key
//! order of success bodies. Any difference fails the test and is printed side by side.

use crate::common;
use crate::common::differential;
use crate::common::oidc_browser;
use crate::common::oidc_pair;

use common::*;
use differential::*;
use serde_json::{json, Value};

/// `update-session` without a session.
async fn anon_update_session(base: &str) -> Response {
    Client::new(base)
        .post("/api/auth/update-session", json!({"theme": "dark"}))
        .await
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
    run.results
        .push(("sign-up cookies".into(), cookie_shapes(&r)));
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
    run.results
        .push(("sign-in cookies".into(), cookie_shapes(&r)));
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
    run.results
        .push(("update-user cookies".into(), cookie_shapes(&r)));
    for (name, body) in [
        ("update-session nothing", json!({})),
        ("update-session unknown field", json!({"theme": "dark"})),
        (
            "update-session impersonatedBy",
            json!({"impersonatedBy": "someone"}),
        ),
        (
            "update-session impersonatedBy empty",
            json!({"impersonatedBy": ""}),
        ),
        ("update-session not an object", json!(["theme"])),
    ] {
        let r = run.client.post("/api/auth/update-session", body).await;
        run.record(name, &r, true);
    }
    let r = anon_update_session(base).await;
    run.record("update-session anonymous", &r, true);
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
    run.results
        .push(("change-password cookies".into(), cookie_shapes(&r)));
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

    let mut forgetful = Client::new(base);
    let r = forgetful
        .post(
            "/api/auth/sign-in/email",
            json!({"email": "alice@example.com", "password": "password-456", "rememberMe": false}),
        )
        .await;
    run.record("sign-in rememberMe false", &r, false);
    run.results
        .push(("sign-in rememberMe false cookies".into(), cookie_shapes(&r)));
    let r = forgetful
        .post("/api/auth/update-user", json!({"name": "Alice C"}))
        .await;
    run.results.push((
        "update-user rememberMe false cookies".into(),
        cookie_shapes(&r),
    ));
    let r = run.client.post("/api/auth/sign-out", json!({})).await;
    run.record("sign-out", &r, true);
    run.results
        .push(("sign-out set-cookie".into(), json!(r.set_cookies())));
    let r = run.client.post("/api/auth/sign-out", json!({})).await;
    run.record("sign-out again", &r, true);
    run.results
}

/// Admin endpoints and the two-factor flow. `make_admin` runs SQL on the server's own database.
async fn admin_and_two_factor_scenario(
    base: &str,
    make_admin: impl Fn(&str),
) -> Vec<(String, Value)> {
    let mut run = Run {
        client: Client::new(base),
        results: vec![],
    };
    let mut root = Client::new(base);
    root.sign_up("Root", "root@example.com", "password-123")
        .await;
    let mut user = Client::new(base);
    let uid = user
        .sign_up("Uma", "uma@example.com", "password-123")
        .await
        .json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    make_admin("root@example.com");

    let r = root
        .get("/api/auth/admin/list-users?limit=1&sortBy=email")
        .await;
    run.record("admin list-users", &r, false);
    run.results.push((
        "admin list-users values".into(),
        json!([
            r.json()["total"],
            r.json()["limit"],
            r.json()["users"][0]["email"]
        ]),
    ));
    let r = root
        .post(
            "/api/auth/admin/set-role",
            json!({"userId": uid, "role": "superuser"}),
        )
        .await;
    run.record_code("admin set-role unknown role", &r);
    let r = root
        .post(
            "/api/auth/admin/set-role",
            json!({"userId": uid, "role": "admin"}),
        )
        .await;
    run.record("admin set-role", &r, false);
    run.results.push((
        "admin set-role value".into(),
        r.json()["user"]["role"].clone(),
    ));
    root.post(
        "/api/auth/admin/set-role",
        json!({"userId": uid, "role": "user"}),
    )
    .await;
    let r = root
        .post(
            "/api/auth/admin/ban-user",
            json!({"userId": uid, "banReason": "spam"}),
        )
        .await;
    run.record("admin ban-user", &r, false);
    run.results.push((
        "admin ban-user values".into(),
        json!([r.json()["user"]["banned"], r.json()["user"]["banReason"]]),
    ));
    let r = user.get("/api/auth/get-session").await;
    run.record("get-session after ban", &r, true);
    let r = user.sign_in("uma@example.com", "password-123").await;
    run.record("sign-in banned", &r, true);
    let me = root.session().await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = root
        .post("/api/auth/admin/ban-user", json!({"userId": me}))
        .await;
    run.record("admin ban self", &r, true);
    let r = root
        .post("/api/auth/admin/unban-user", json!({"userId": uid}))
        .await;
    run.record("admin unban-user", &r, false);
    run.results.push((
        "admin unban-user value".into(),
        r.json()["user"]["banned"].clone(),
    ));
    let r = user.sign_in("uma@example.com", "password-123").await;
    run.record("sign-in after unban", &r, false);

    let r = user
        .post(
            "/api/auth/two-factor/enable",
            json!({"password": "wrong-pass-1"}),
        )
        .await;
    run.record("2fa enable wrong password", &r, true);
    let r = user
        .post(
            "/api/auth/two-factor/enable",
            json!({"password": "password-123", "issuer": "TestApp"}),
        )
        .await;
    run.record("2fa enable", &r, false);
    let uri = r.json()["totpURI"].as_str().unwrap().to_owned();
    let key = key_from_uri(&uri);
    let secret_b32 = data_encoding::BASE32_NOPAD.encode(&key);
    run.results.push((
        "2fa enable uri".into(),
        json!(uri.replace(&secret_b32, "<secret>")),
    ));
    run.results.push((
        "2fa enable backup codes".into(),
        json!(r.json()["backupCodes"]
            .as_array()
            .map(|a| (a.len(), a[0].as_str().unwrap().len()))),
    ));
    let r = user
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": "000000x"}),
        )
        .await;
    run.record("2fa verify wrong code", &r, true);
    let r = user
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": totp_now(&key)}),
        )
        .await;
    run.record("2fa verify (enables)", &r, false);
    run.results
        .push(("2fa verify (enables) cookies".into(), cookie_shapes(&r)));
    run.results.push((
        "2fa enabled flag".into(),
        user.session().await["user"]["twoFactorEnabled"].clone(),
    ));

    let mut device = Client::new(base);
    let r = device.sign_in("uma@example.com", "password-123").await;
    run.record("sign-in with 2fa", &r, true);
    run.results
        .push(("sign-in with 2fa cookies".into(), cookie_shapes(&r)));
    let r = device.get("/api/auth/get-session").await;
    run.record("get-session during challenge", &r, true);
    let r = device
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": "000000x"}),
        )
        .await;
    run.record("challenge wrong code", &r, true);
    let r = device
        .post(
            "/api/auth/two-factor/verify-backup-code",
            json!({"code": "nope-nope"}),
        )
        .await;
    run.record("challenge wrong backup code", &r, true);
    let r = device
        .post(
            "/api/auth/two-factor/verify-totp",
            // The step after the one that turned 2FA on: a step is accepted once per user.
            json!({"code": totp_steps_from_now(&key, 1), "trustDevice": true}),
        )
        .await;
    run.record("challenge verify", &r, false);
    run.results
        .push(("challenge verify cookies".into(), cookie_shapes(&r)));
    let r = user
        .post(
            "/api/auth/two-factor/generate-backup-codes",
            json!({"password": "password-123"}),
        )
        .await;
    run.record("2fa generate-backup-codes", &r, false);
    let r = user
        .post(
            "/api/auth/two-factor/disable",
            json!({"password": "password-123"}),
        )
        .await;
    run.record("2fa disable", &r, true);
    run.results.push((
        "2fa disabled flag".into(),
        user.session().await["user"]["twoFactorEnabled"].clone(),
    ));
    let mut anon = Client::new(base);
    let r = anon
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": "123456"}),
        )
        .await;
    run.record("verify-totp without cookie", &r, true);
    run.results
}

#[tokio::test]
async fn admin_and_two_factor_answer_like_betterauth() {
    let pair = Pair::start().await;
    let theirs = admin_and_two_factor_scenario(&pair.ba.base(), pair.promoter("ba")).await;
    let mine = admin_and_two_factor_scenario(&pair.ours.base, pair.promoter("ours")).await;
    compare(&theirs, &mine, DELIBERATE);
}

/// Differences we keep on purpose (each is documented in the README).
const DELIBERATE: &[(&str, &str)] = &[(
    "admin set-role unknown role",
    "BetterAuth stores any role string; stackr-auth only accepts the roles it knows (user, admin)",
)];

#[tokio::test]
async fn stackr_auth_answers_like_betterauth() {
    let pair = Pair::start().await;

    let theirs = scenario(&pair.ba.base()).await;
    let mine = scenario(&pair.ours.base).await;
    compare(&theirs, &mine, DELIBERATE);
}

/// Social sign-in with an OpenID provider (the real oidc-provider), as BetterAuth's genericOAuth
/// plugin serves it: `public_base` is the server's configured base URL, `base` where the test
/// reaches it.
async fn social_scenario(public_base: &str, base: &str, op: &str) -> Vec<(String, Value)> {
    use oidc_browser::{app, Browser, PROVIDER};
    let new_browser = || Browser::new(Client::new(base), public_base.to_owned(), op);
    let mut run = Run {
        client: Client::new(base),
        results: vec![],
    };
    let r = run
        .client
        .post("/api/auth/sign-in/social", json!({"provider": "nope"}))
        .await;
    run.record("social: unknown provider", &r, true);
    for field in ["callbackURL", "errorCallbackURL", "newUserCallbackURL"] {
        let r = run
            .client
            .post(
                "/api/auth/sign-in/social",
                json!({"provider": PROVIDER, field: "https://evil.example/x"}),
            )
            .await;
        run.record(&format!("social: foreign {field}"), &r, true);
    }
    let r = run
        .client
        .post(
            "/api/auth/sign-in/social",
            json!({"provider": PROVIDER, "callbackURL": "/dashboard", "disableRedirect": true}),
        )
        .await;
    run.record("social: sign-in without redirect", &r, false);
    run.results
        .push(("social: sign-in cookies".into(), cookie_shapes(&r)));
    let url = url::Url::parse(r.json()["url"].as_str().unwrap()).unwrap();
    let params: Vec<String> = url
        .query_pairs()
        .map(|(k, v)| match k.as_ref() {
            "response_type" | "scope" | "code_challenge_method" | "client_id" => format!("{k}={v}"),
            _ => k.into_owned(),
        })
        .collect();
    run.results
        .push(("social: authorization URL".into(), json!(params)));
    let r = run
        .client
        .post(
            "/api/auth/sign-in/social",
            json!({"provider": PROVIDER, "callbackURL": "/dashboard"}),
        )
        .await;
    run.results.push((
        "social: sign-in redirect".into(),
        json!([r.json()["redirect"], r.headers.contains_key("location")]),
    ));

    let mut bob = new_browser();
    let end = app(
        bob.social(
            "bob",
            json!({"callbackURL": "/dashboard", "newUserCallbackURL": "/welcome", "errorCallbackURL": "/oops"}),
        )
        .await,
    );
    run.results
        .push(("social: new user lands on".into(), json!(end)));
    run.results.push((
        "social: callback cookies".into(),
        cookie_list_shapes(&bob.last_set_cookies),
    ));
    let session = bob.auth.session().await;
    run.results
        .push(("social: get-session".into(), shape(&session)));
    run.results.push((
        "social: provider user".into(),
        json!([
            session["user"]["email"],
            session["user"]["name"],
            session["user"]["emailVerified"]
        ]),
    ));
    let r = bob.auth.get("/api/auth/list-accounts").await;
    run.record("social: list-accounts", &r, false);
    let account = r.json()[0]["id"].as_str().unwrap().to_owned();
    let r = bob
        .post_auth("/api/auth/unlink-account", json!({"accountId": account}))
        .await;
    run.record("social: unlink the last account", &r, true);
    let r = bob
        .post_auth("/api/auth/unlink-account", json!({"accountId": "nope"}))
        .await;
    run.record("social: unlink unknown with one account", &r, true);
    let end = app(new_browser()
        .social(
            "bob",
            json!({"callbackURL": "/dashboard", "newUserCallbackURL": "/welcome"}),
        )
        .await);
    run.results
        .push(("social: known user lands on".into(), json!(end)));

    let callback = new_browser().social_until_callback("bob").await;
    let r = new_browser().open(&callback).await;
    run.results.push((
        "social: callback from another browser".into(),
        json!([r.status, normalize_base(oidc_browser::location(&r))]),
    ));
    let r = run.client.get("/api/auth/callback/corp?code=abc").await;
    run.results.push((
        "social: callback without state".into(),
        json!([r.status, normalize_base(oidc_browser::location(&r))]),
    ));
    let mut denied_browser = new_browser();
    let callback = denied_browser.social_until_callback("bob").await;
    let state = oidc_browser::query_param(&callback, "state");
    let denied =
        oidc_browser::with_query(&callback, &[("error", "access_denied"), ("state", &state)]);
    let r = denied_browser.open(&denied).await;
    run.results.push((
        "social: provider answers access_denied".into(),
        json!([r.status, normalize_base(oidc_browser::location(&r))]),
    ));

    let mut victim = Client::new(base);
    victim
        .sign_up("Victim", "victim@example.com", "victim-password-1")
        .await;
    let end = app(new_browser()
        .social(
            "mallory",
            json!({"callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
        )
        .await);
    run.results.push((
        "social: unverified address of an existing user".into(),
        json!(end),
    ));

    let mut alice = new_browser();
    alice
        .auth
        .sign_up("Alice", "alice@example.com", "alice-password-1")
        .await;
    let r = alice
        .post_auth(
            "/api/auth/link-social",
            json!({"provider": PROVIDER, "callbackURL": "/settings"}),
        )
        .await;
    run.record("social: link-social", &r, false);
    let end = app(alice
        .follow(r.json()["url"].as_str().unwrap().to_owned(), "alice", false)
        .await);
    run.results
        .push(("social: linked lands on".into(), json!(end)));
    let r = alice.auth.get("/api/auth/list-accounts").await;
    run.record("social: list-accounts after link", &r, false);
    let r = Client::new(base)
        .post("/api/auth/link-social", json!({"provider": PROVIDER}))
        .await;
    run.record("social: link-social without session", &r, true);
    run.results
}

#[tokio::test]
async fn social_sign_in_answers_like_betterauth() {
    let pair = oidc_pair::OidcPair::start().await;
    let op = pair.op.issuer();
    let theirs = social_scenario(&pair.ba_public, &pair.ba.base(), &op).await;
    let ours = &pair.ours;
    let mine = social_scenario(&ours.state.config.base(), &ours.base, &op).await;
    compare(&theirs, &mine, DELIBERATE);
}
