//! The trusted-origin check on cookie-bearing requests, login CSRF, and service provisioning.

use crate::common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn cookie_bearing_posts_need_a_trusted_origin() {
    let server = TestServer::start().await;
    let mut c = server.client();
    assert_eq!(
        c.sign_up("Carol", "carol@example.com", "password-123")
            .await
            .status,
        200
    );

    c.origin = None;
    let r = c
        .post("/api/auth/update-user", json!({"name": "Mallory"}))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json(),
        json!({"message": "Missing or null Origin", "code": "MISSING_OR_NULL_ORIGIN"})
    );

    c.origin = Some("https://evil.example".into());
    let r = c
        .post("/api/auth/update-user", json!({"name": "Mallory"}))
        .await;
    assert_eq!(
        r.json(),
        json!({"message": "Invalid origin", "code": "INVALID_ORIGIN"})
    );

    // Referer is used when Origin is absent.
    c.origin = None;
    let req = c
        .raw()
        .post(c.url("/api/auth/update-user"))
        .header("referer", "http://localhost:3000/settings")
        .json(&json!({"name": "Carol B"}));
    let r = c.send(req).await;
    assert_eq!((r.status, r.json()), (200, json!({"status": true})));

    // The base URL's own origin is trusted.
    c.origin = Some(server.state.config.base_url.origin().ascii_serialization());
    let r = c
        .post("/api/auth/update-user", json!({"name": "Carol C"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(c.session().await["user"]["name"], "Carol C");

    // GET is never origin-checked.
    c.origin = None;
    assert_eq!(c.get("/api/auth/get-session").await.status, 200);
}

#[tokio::test]
async fn login_csrf_defence_on_sign_in() {
    let server = TestServer::start().await;
    let mut c = server.client();
    assert_eq!(
        c.sign_up("Dan", "dan@example.com", "password-123")
            .await
            .status,
        200
    );
    let mut anon = server.client();
    anon.origin = None;
    // Browser-like (Fetch-Metadata present) without Origin: refused.
    let req = anon
        .raw()
        .post(anon.url("/api/auth/sign-in/email"))
        .header("sec-fetch-mode", "cors")
        .json(&json!({"email": "dan@example.com", "password": "password-123"}));
    let r = anon.send(req).await;
    assert_eq!((r.status, r.code()), (403, "MISSING_OR_NULL_ORIGIN".into()));
    // Cross-site top-level navigation: refused.
    let req = anon
        .raw()
        .post(anon.url("/api/auth/sign-in/email"))
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-site", "cross-site")
        .header("origin", APP_ORIGIN)
        .json(&json!({"email": "dan@example.com", "password": "password-123"}));
    let r = anon.send(req).await;
    assert_eq!(
        (r.status, r.code()),
        (403, "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED".into())
    );
    // Untrusted origin: refused.
    anon.origin = Some("https://evil.example".into());
    let r = anon.sign_in("dan@example.com", "password-123").await;
    assert_eq!((r.status, r.code()), (403, "INVALID_ORIGIN".into()));
    // Server-to-server (no cookie, no Fetch-Metadata, no Origin): allowed.
    anon.origin = None;
    let r = anon.sign_in("dan@example.com", "password-123").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

const CORE_CREDENTIAL: &str = "core-credential-0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn provisioning_needs_the_user_and_the_service_credential() {
    let server = TestServer::start_with(Options {
        provision: vec![
            ("core", CORE_CREDENTIAL),
            ("my-wallet", "wallet-credential-0123456789abcdef0123456789"),
        ],
        ..Options::default()
    })
    .await;
    let mut c = server.client();
    assert_eq!(
        c.sign_up("Eve", "eve@example.com", "password-123")
            .await
            .status,
        200
    );
    let user = c.session().await["user"].clone();
    assert_eq!(user["hasCoreAccount"], false);
    assert_eq!(user["hasMyWalletAccount"], false);

    let provision = |cookie: String, service: &str, credential: &str| {
        c.raw()
            .post(c.url("/api/auth/provision"))
            .header("cookie", cookie)
            .header("x-stackr-service", service)
            .header("authorization", format!("Bearer {credential}"))
            .send()
    };
    let cookie = c.cookie_header();

    // The user alone (cookie, no credential) cannot provision.
    let r = c
        .raw()
        .post(c.url("/api/auth/provision"))
        .header("cookie", cookie.clone())
        .header("x-stackr-service", "core")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({"message": "Invalid service credential", "code": "INVALID_SERVICE_CREDENTIAL"})
    );
    // Wrong credential, or another service's credential: 403.
    assert_eq!(
        provision(cookie.clone(), "core", "nope")
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        provision(
            cookie.clone(),
            "core",
            "wallet-credential-0123456789abcdef0123456789"
        )
        .await
        .unwrap()
        .status(),
        403
    );
    assert_eq!(
        provision(cookie.clone(), "unknown", CORE_CREDENTIAL)
            .await
            .unwrap()
            .status(),
        403
    );
    // Right credential but no session: 401.
    assert_eq!(
        provision(String::new(), "core", CORE_CREDENTIAL)
            .await
            .unwrap()
            .status(),
        401
    );

    // Both: 200, idempotent, and visible in get-session.
    for _ in 0..2 {
        let r = provision(cookie.clone(), "core", CORE_CREDENTIAL)
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap(),
            json!({"service": "core", "userId": user["id"], "provisioned": true})
        );
    }
    let user = c.session().await["user"].clone();
    assert_eq!(user["hasCoreAccount"], true);
    assert_eq!(user["hasMyWalletAccount"], false);
}
