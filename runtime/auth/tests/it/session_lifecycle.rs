//! rememberMe:false, sliding refresh after updateAge, expiry, listing and revoking sessions.

use crate::common;

use common::*;
use serde_json::json;

fn secs_until(iso: &str) -> i64 {
    let t = chrono::DateTime::parse_from_rfc3339(iso).unwrap();
    (t.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds()
}

#[tokio::test]
async fn remember_me_false_gives_a_browser_session_cookie() {
    // This test edits session rows directly, so the get-session cache is off.
    let server = TestServer::start_with(Options {
        session_cache_ms: Some(0),
        ..Options::default()
    })
    .await;
    let mut c = server.client();
    assert_eq!(
        c.sign_up("Fay", "fay@example.com", "password-123")
            .await
            .status,
        200
    );
    let mut c2 = server.client();
    let r = c2
        .post(
            "/api/auth/sign-in/email",
            json!({"email": "fay@example.com", "password": "password-123", "rememberMe": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let session_cookie = r.set_cookie("better-auth.session_token").unwrap();
    assert!(!session_cookie.contains("Max-Age"), "{session_cookie}");
    assert_eq!(
        r.set_cookie("better-auth.dont_remember").unwrap(),
        "better-auth.dont_remember=true.i8K8lWmm43%2FqItRtT9GUzE75WMaFyDz4cMBHK5qe4nM%3D; Path=/; HttpOnly; SameSite=Lax"
    );
    let s = c2.session().await;
    let left = secs_until(s["session"]["expiresAt"].as_str().unwrap());
    assert!(
        (86_300..=86_400).contains(&left),
        "one-day session, got {left}s"
    );

    // Never refreshed while dont_remember is present, even when due.
    server.psql(&format!(
        r#"update "session" set "expiresAt" = now() + interval '1 hour' where "token" = '{}'"#,
        s["session"]["token"].as_str().unwrap()
    ));
    let r = c2.get("/api/auth/get-session").await;
    assert!(r.set_cookies().is_empty());
}

#[tokio::test]
async fn sessions_slide_after_update_age_and_expire() {
    // This test edits session rows directly, so the get-session cache is off.
    let server = TestServer::start_with(Options {
        session_cache_ms: Some(0),
        ..Options::default()
    })
    .await;
    let mut c = server.client();
    let r = c.sign_up("Gus", "gus@example.com", "password-123").await;
    let token = r.json()["token"].as_str().unwrap().to_owned();

    // Fresh session: no refresh, no Set-Cookie.
    let r = c.get("/api/auth/get-session").await;
    assert!(r.set_cookies().is_empty());

    // Pretend the last refresh was two days ago (expiresAt = now + 5 days).
    server.psql(&format!(
        r#"update "session" set "expiresAt" = now() + interval '5 days' where "token" = '{token}'"#
    ));
    let r = c.get("/api/auth/get-session").await;
    let set = r
        .set_cookie("better-auth.session_token")
        .expect("refreshed cookie");
    assert!(set.contains("Max-Age=604800"), "{set}");
    assert!(set.contains(&stackr_auth::cookie::sign_for_cookie(
        SECRET.as_bytes(),
        &token
    )));
    let left = secs_until(r.json()["session"]["expiresAt"].as_str().unwrap());
    assert!(left > 604_000, "expiresAt pushed to 7 days, got {left}s");
    let db_left: i64 = server
        .psql(&format!(r#"select extract(epoch from "expiresAt" - now())::bigint from "session" where "token" = '{token}'"#))
        .parse()
        .unwrap();
    assert!(db_left > 604_000, "{db_left}");

    // ?disableRefresh=true suppresses it.
    server.psql(&format!(
        r#"update "session" set "expiresAt" = now() + interval '5 days' where "token" = '{token}'"#
    ));
    let r = c.get("/api/auth/get-session?disableRefresh=true").await;
    assert!(r.set_cookies().is_empty());

    // Expired: null, cookies cleared, row deleted.
    server.psql(&format!(r#"update "session" set "expiresAt" = now() - interval '1 second' where "token" = '{token}'"#));
    let r = c.get("/api/auth/get-session").await;
    assert_eq!(r.text, "null");
    assert!(r
        .set_cookie("better-auth.session_token")
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        server.psql(&format!(
            r#"select count(*) from "session" where "token" = '{token}'"#
        )),
        "0"
    );
}

#[tokio::test]
async fn list_and_revoke_sessions() {
    let server = TestServer::start().await;
    let mut a = server.client();
    assert_eq!(
        a.sign_up("Hal", "hal@example.com", "password-123")
            .await
            .status,
        200
    );
    let mut b = server.client();
    let tb = b.sign_in("hal@example.com", "password-123").await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut c = server.client();
    c.sign_in("hal@example.com", "password-123").await;

    let r = a.get("/api/auth/list-sessions").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json().as_array().unwrap().len(), 3);

    // Revoke b's session from a.
    let r = a
        .post("/api/auth/revoke-session", json!({"token": tb}))
        .await;
    assert_eq!(r.json(), json!({"status": true}));
    assert_eq!(b.get("/api/auth/get-session").await.text, "null");
    // Unknown token: silently fine.
    assert_eq!(
        a.post("/api/auth/revoke-session", json!({"token": "nope"}))
            .await
            .status,
        200
    );

    // Another user cannot revoke hal's sessions.
    let mut other = server.client();
    other
        .sign_up("Ivy", "ivy@example.com", "password-123")
        .await;
    let ta = a.session().await["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    other
        .post("/api/auth/revoke-session", json!({"token": ta}))
        .await;
    assert_ne!(a.get("/api/auth/get-session").await.text, "null");

    let r = a.post("/api/auth/revoke-other-sessions", json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(c.get("/api/auth/get-session").await.text, "null");
    assert_ne!(a.get("/api/auth/get-session").await.text, "null");

    // Not fresh: older than a day → 403 SESSION_NOT_FRESH.
    server.psql(r#"update "session" set "createdAt" = now() - interval '2 days'"#);
    let r = a.get("/api/auth/list-sessions").await;
    assert_eq!((r.status, r.code()), (403, "SESSION_NOT_FRESH".into()));

    let r = a.post("/api/auth/revoke-sessions", json!({})).await;
    assert_eq!(r.status, 200);
    // Every session cookie is cleared; the known-device cookie outlives sessions by design.
    let known_device = stackr_auth::cookie::CookieNames::new(false).known_device;
    assert!(
        a.cookies.keys().all(|name| *name == known_device),
        "cookies cleared: {:?}",
        a.cookies
    );
    let mut none = server.client();
    let r = none.get("/api/auth/list-sessions").await;
    assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED".into()));
}

#[tokio::test]
async fn https_base_url_uses_secure_prefixed_cookies() {
    let server = TestServer::start_with(Options {
        https: true,
        ..Options::default()
    })
    .await;
    let mut c = server.client();
    let r = c.sign_up("Jo", "jo@example.com", "password-123").await;
    let set = r
        .set_cookie("__Secure-better-auth.session_token")
        .expect("secure cookie");
    assert!(
        set.ends_with("; Max-Age=604800; Path=/; HttpOnly; Secure; SameSite=Lax")
            || set.contains("; Secure; SameSite=Lax"),
        "{set}"
    );
    assert!(c.session().await["user"].is_object());
    // The unprefixed name is ignored by an https server.
    let value = c.cookies["__Secure-better-auth.session_token"].clone();
    let r = c
        .raw()
        .get(c.url("/api/auth/get-session"))
        .header("cookie", format!("better-auth.session_token={value}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "null");
}

#[tokio::test]
async fn cached_sessions_never_outlive_changes_made_through_the_service() {
    // Default configuration: the get-session cache is on (1 s).
    let server = TestServer::start().await;
    assert!(server.state.session_cache.enabled());
    let mut a = server.client();
    a.sign_up("Kai", "kai@example.com", "password-123").await;
    let mut b = server.client();
    let tb = b.sign_in("kai@example.com", "password-123").await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..3 {
        assert_ne!(b.get("/api/auth/get-session").await.text, "null");
        assert_ne!(a.get("/api/auth/get-session").await.text, "null");
    }
    // Revoked through the API: the very next get-session says null.
    a.post("/api/auth/revoke-session", json!({"token": tb}))
        .await;
    assert_eq!(b.get("/api/auth/get-session").await.text, "null");
    // Profile changes show at once.
    a.post("/api/auth/update-user", json!({"name": "Kai 2"}))
        .await;
    assert_eq!(a.session().await["user"]["name"], "Kai 2");
    // Sign-out: the old cookie is dead at once.
    let old = a.cookie_header();
    a.get("/api/auth/get-session").await;
    a.post("/api/auth/sign-out", json!({})).await;
    let r = a
        .raw()
        .get(a.url("/api/auth/get-session"))
        .header("cookie", old)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "null");

    // A change behind the service's back (direct SQL) shows within the TTL.
    let mut c = server.client();
    c.sign_in("kai@example.com", "password-123").await;
    assert_ne!(c.get("/api/auth/get-session").await.text, "null");
    server.psql(r#"delete from "session""#);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(c.get("/api/auth/get-session").await.text, "null");
}

/// `get-session?disableCookieCache=true` reads the session from the database, past the
/// in-process cache (BetterAuth's flag for skipping its cookie cache): a change made elsewhere
/// (another auth replica revoking it, here direct SQL) shows at once. Base services ask so before
/// they derive a credential of their own from a session.
#[tokio::test]
async fn get_session_asked_to_skip_the_cache_reads_the_database() {
    let server = TestServer::start_with(Options {
        session_cache_ms: Some(60_000),
        ..Default::default()
    })
    .await;
    let mut c = server.client();
    c.sign_up("Lu", "lu@example.com", "password-123").await;
    for _ in 0..2 {
        assert_ne!(c.get("/api/auth/get-session").await.text, "null");
    }
    server.psql(r#"delete from "session""#);
    assert_ne!(
        c.get("/api/auth/get-session").await.text,
        "null",
        "the cache answers for a minute"
    );
    for value in ["true", "1"] {
        let r = c
            .get(&format!("/api/auth/get-session?disableCookieCache={value}"))
            .await;
        assert_eq!(r.text, "null", "disableCookieCache={value}");
    }
}
