//! Email/password sign-up, sign-in, get-session and sign-out against a real PostgreSQL, checked
//! against the shapes measured on BetterAuth 1.7.25.

use crate::common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn sign_up_get_session_sign_out_roundtrip() {
    let server = TestServer::start().await;
    let mut c = server.client();

    // Not signed in: 200 null, no-store.
    let r = c.get("/api/auth/get-session").await;
    assert_eq!((r.status, r.text.as_str()), (200, "null"));
    assert_eq!(r.headers["cache-control"], "no-store");

    let r = c
        .sign_up("Alice", "Alice@Example.com", "correct horse battery")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 32);
    let user = &body["user"];
    assert_eq!(
        user["email"], "alice@example.com",
        "emails are stored lower-case"
    );
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["image"], json!(null));
    let keys: Vec<&String> = user.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "name",
            "email",
            "emailVerified",
            "image",
            "createdAt",
            "updatedAt",
            "twoFactorEnabled",
            "role",
            "banned",
            "banReason",
            "banExpires",
            "id"
        ],
        "BetterAuth's key order (plugin fields before id)"
    );
    assert!(user["createdAt"].as_str().unwrap().ends_with('Z'));

    // Cookie format and attributes.
    let set = r
        .set_cookie("better-auth.session_token")
        .expect("session cookie");
    let expected_value = stackr_auth::cookie::sign_for_cookie(SECRET.as_bytes(), &token);
    assert_eq!(
        set,
        format!("better-auth.session_token={expected_value}; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax")
    );

    let s = c.session().await;
    assert_eq!(s["session"]["token"], token.as_str());
    assert_eq!(s["user"]["email"], "alice@example.com");
    assert_eq!(s["session"]["userId"], s["user"]["id"]);
    let skeys: Vec<&String> = s["session"].as_object().unwrap().keys().collect();
    assert_eq!(
        skeys,
        [
            "expiresAt",
            "token",
            "createdAt",
            "updatedAt",
            "ipAddress",
            "userAgent",
            "userId",
            "impersonatedBy",
            "id"
        ]
    );

    // The raw (not percent-encoded) value is accepted too.
    let raw = stackr_auth::cookie::sign(SECRET.as_bytes(), &token);
    let r = c
        .raw()
        .get(c.url("/api/auth/get-session"))
        .header("cookie", format!("better-auth.session_token={raw}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["session"]["token"],
        token.as_str()
    );

    // A tampered signature is no session (and no Set-Cookie).
    let forged =
        stackr_auth::cookie::sign_for_cookie(b"wrong-secret-wrong-secret-wrong-secret", &token);
    let r = c
        .raw()
        .get(c.url("/api/auth/get-session"))
        .header("cookie", format!("better-auth.session_token={forged}"))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("set-cookie").is_none());
    assert_eq!(r.text().await.unwrap(), "null");

    let saved_cookie = c.cookie_header();
    let r = c.post("/api/auth/sign-out", json!({})).await;
    assert_eq!((r.status, r.json()), (200, json!({"success": true})));
    assert_eq!(
        r.set_cookie("better-auth.session_token").unwrap(),
        "better-auth.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
    );
    // The old cookie no longer works: the session row is gone.
    let r = c
        .raw()
        .get(c.url("/api/auth/get-session"))
        .header("cookie", saved_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "null");

    // Sign in again: a new session, redirect false.
    let r = c
        .sign_in("alice@example.com", "correct horse battery")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["redirect"], false);
    assert_ne!(r.json()["token"], token.as_str());
    assert_eq!(c.session().await["user"]["name"], "Alice");
    // The password is stored as argon2id.
    let hash = server.psql(r#"select "password" from "account" where "providerId"='credential'"#);
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

#[tokio::test]
async fn betterauth_error_shapes() {
    let server = TestServer::start().await;
    let mut c = server.client();
    assert_eq!(
        c.sign_up("Bob", "bob@example.com", "password-123")
            .await
            .status,
        200
    );

    let r = c.sign_up("Bob", "bob@example.com", "password-123").await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json(),
        json!({"message": "User already exists. Use another email.", "code": "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"})
    );
    let r = c.sign_up("Bob", "bob2@example.com", "short").await;
    assert_eq!((r.status, r.code()), (400, "PASSWORD_TOO_SHORT".into()));
    let r = c.sign_up("Bob", "not-an-email", "password-123").await;
    assert_eq!((r.status, r.code()), (400, "VALIDATION_ERROR".into()));
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("[body.email]"));
    let r = c
        .post(
            "/api/auth/sign-up/email",
            json!({"email": "x@y.co", "password": "password-123"}),
        )
        .await;
    assert_eq!(
        r.json()["message"],
        "[body.name] Invalid input: expected string, received undefined"
    );
    let r = c
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "M", "email": "m@y.co", "password": "password-123", "role": "admin"}),
        )
        .await;
    assert_eq!(
        r.json(),
        json!({"message": "role is not allowed to be set", "code": "FIELD_NOT_ALLOWED"})
    );

    let r = c.sign_in("bob@example.com", "wrong-password").await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"message": "Invalid email or password", "code": "INVALID_EMAIL_OR_PASSWORD"})
    );
    let r = c.sign_in("nobody@example.com", "password-123").await;
    assert_eq!(
        (r.status, r.code()),
        (401, "INVALID_EMAIL_OR_PASSWORD".into())
    );

    // Content type and JSON errors (a client without cookies: no origin check applies).
    let mut c = server.client();
    let r = c
        .send(
            c.raw()
                .post(c.url("/api/auth/sign-in/email"))
                .header("content-type", "text/plain")
                .body("hi"),
        )
        .await;
    assert_eq!((r.status, r.code()), (415, "UNSUPPORTED_MEDIA_TYPE".into()));
    let r = c
        .send(
            c.raw()
                .post(c.url("/api/auth/sign-in/email"))
                .header("content-type", "application/json")
                .body("{nope"),
        )
        .await;
    assert_eq!(
        r.json(),
        json!({"message": "Invalid JSON in request body", "code": "BAD_REQUEST"})
    );

    // Unknown route: 404 with an empty body.
    let r = c.get("/api/auth/nope").await;
    assert_eq!((r.status, r.text.as_str()), (404, ""));
    let r = c.get("/api/auth/ok").await;
    assert_eq!(r.json(), json!({"ok": true}));
    let r = c.post("/api/auth/get-session", json!({})).await;
    assert_eq!(
        (r.status, r.code()),
        (405, "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED".into())
    );
    let r = c.get("/health").await;
    assert_eq!(r.status, 200);

    // Form bodies are accepted on sign-in.
    let r = c
        .send(
            c.raw()
                .post(c.url("/api/auth/sign-in/email"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("email=bob%40example.com&password=password-123"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn health_fails_when_the_database_is_down() {
    let server = TestServer::start().await;
    let mut c = server.client();
    assert_eq!(c.get("/health").await.status, 200);
    server.pg.stop();
    let r = c.get("/health").await;
    assert_eq!(r.status, 503, "{}", r.text);
}
