//! Rotating the auth secret while sessions, 2FA enrolments, trusted devices and verification links
//! exist: nobody is logged out or locked out while the old secret is still listed, everything new
//! is signed and sealed with the new one, and 2FA data moves to the new secret on use so the old
//! one can then be retired.

use crate::common;

use common::*;
use serde_json::json;

const NEW: &str = "rotated-secret-rotated-secret-rotated-0001";

/// The same browser, pointed at the restarted server.
fn reconnect(server: &TestServer, browser: &Client) -> Client {
    let mut c = server.client();
    c.cookies = browser.cookies.clone();
    c
}

fn path_and_query(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or(""))
}

#[tokio::test]
async fn rotating_the_secret_keeps_sessions_two_factor_and_links_working() {
    let mut server = TestServer::start().await;
    let mut alice = server.client();
    alice
        .sign_up("Alice", "alice@example.com", "password-alice-1")
        .await;
    let r = alice
        .post(
            "/api/auth/send-verification-email",
            json!({"email": "alice@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let link = server.wait_for_link("alice@example.com", 1).await;

    let mut bob = server.client();
    bob.sign_up("Bob", "bob@example.com", "password-bob-12")
        .await;
    let (key, backup) = enable_two_factor(&mut bob, "password-bob-12").await;
    let mut device = server.client();
    device.sign_in("bob@example.com", "password-bob-12").await;
    let r = device
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": totp_steps_from_now(&key, 0), "trustDevice": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Rotate: the new secret signs, the old one still verifies.
    server
        .restart_with(Options {
            versioned_secrets: vec![(1, NEW)],
            ..Default::default()
        })
        .await;
    let mut alice = reconnect(&server, &alice);
    assert_eq!(
        alice.session().await["user"]["email"],
        "alice@example.com",
        "a session cookie signed before the rotation"
    );
    let r = alice.get(&path_and_query(&link)).await;
    assert_eq!(r.status, 302, "a verification link from before: {}", r.text);
    assert_eq!(alice.session().await["user"]["emailVerified"], true);

    let mut bob_again = server.client();
    let r = bob_again
        .sign_in("bob@example.com", "password-bob-12")
        .await;
    assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);
    let two_factor = bob_again.cookies["better-auth.two_factor"].clone();
    assert!(
        stackr_auth::cookie::verify(NEW.as_bytes(), &two_factor).is_some(),
        "new cookies are signed with the new secret"
    );
    let r = bob_again
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": totp_steps_from_now(&key, 1)}),
        )
        .await;
    assert_eq!(
        r.status, 200,
        "2FA data sealed with the old secret: {}",
        r.text
    );
    let sealed = server.psql(r#"select "secret" || ' ' || "backupCodes" from "twoFactor""#);
    assert_eq!(
        sealed.matches("$ba$1$").count(),
        2,
        "2FA data re-sealed with the new secret: {sealed}"
    );
    let mut device = reconnect(&server, &device);
    let r = device.sign_in("bob@example.com", "password-bob-12").await;
    assert_eq!(
        r.json()["redirect"],
        false,
        "a device trusted before the rotation: {}",
        r.text
    );

    // Retire the old secret: what was re-signed and re-sealed keeps working.
    server
        .restart_with(Options {
            versioned_secrets: vec![(1, NEW)],
            drop_unversioned_secret: true,
            ..Default::default()
        })
        .await;
    let mut bob_third = server.client();
    bob_third
        .sign_in("bob@example.com", "password-bob-12")
        .await;
    let r = bob_third
        .post(
            "/api/auth/two-factor/verify-backup-code",
            json!({"code": backup[0]}),
        )
        .await;
    assert_eq!(r.status, 200, "backup codes after retirement: {}", r.text);
    let mut device = reconnect(&server, &device);
    let r = device.sign_in("bob@example.com", "password-bob-12").await;
    assert_eq!(
        r.json()["redirect"],
        false,
        "the trust cookie rotated after the rotation: {}",
        r.text
    );
    // Cookies only the retired secret signed no longer verify (documented: keep a secret listed
    // for the session lifetime after rotating).
    let mut alice = reconnect(&server, &alice);
    assert_eq!(alice.get("/api/auth/get-session").await.text, "null");
}
