//! TOTP two-factor: enable, verify (turns it on and rotates the session), the sign-in
//! `twoFactorRedirect` challenge, backup codes, trusted devices, disable; a password reset ends
//! the challenges the old password started.

use crate::common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn totp_enable_challenge_backup_codes_and_disable() {
    let server = TestServer::start().await;
    let mut c = server.client();
    c.sign_up("Tess", "tess@example.com", "password-123").await;

    let r = c
        .post(
            "/api/auth/two-factor/enable",
            json!({"password": "wrong-pass-1"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "INVALID_PASSWORD".into()));
    let r = c
        .post(
            "/api/auth/two-factor/enable",
            json!({"password": "password-123", "issuer": "TestApp"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    let uri = body["totpURI"].as_str().unwrap().to_owned();
    assert!(
        uri.starts_with("otpauth://totp/TestApp:tess%40example.com?secret="),
        "{uri}"
    );
    assert!(uri.ends_with("&issuer=TestApp&digits=6&period=30"), "{uri}");
    let backup: Vec<String> = serde_json::from_value(body["backupCodes"].clone()).unwrap();
    assert_eq!(backup.len(), 10);
    assert!(backup
        .iter()
        .all(|b| b.len() == 11 && b.as_bytes()[5] == b'-'));
    let key = key_from_uri(&uri);
    assert_eq!(key.len(), 32);
    // Not on until verified; secrets are encrypted at rest.
    assert_eq!(c.session().await["user"]["twoFactorEnabled"], false);
    let stored = server.psql(r#"select "secret" from "twoFactor""#);
    assert!(!stored.contains(std::str::from_utf8(&key).unwrap()));

    let r = c
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": "000000"}),
        )
        .await;
    let wrong = r.status;
    let old_token = c.session().await["session"]["token"].clone();
    if wrong == 200 {
        panic!("000000 accepted (1 in a million chance, or a bug)");
    }
    assert_eq!(
        r.json(),
        json!({"message": "Invalid code", "code": "INVALID_CODE"})
    );
    let code = totp_now(&key);
    let r = c
        .post("/api/auth/two-factor/verify-totp", json!({"code": code}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["user"]["twoFactorEnabled"], true);
    let s = c.session().await;
    assert_ne!(s["session"]["token"], old_token, "session rotated");
    assert_eq!(s["user"]["twoFactorEnabled"], true);

    // Sign-in now stops at the challenge: no session.
    let mut d = server.client();
    let r = d.sign_in("tess@example.com", "password-123").await;
    assert_eq!(
        r.json(),
        // `otp`: this server has a mail sender (its dev mailbox), so codes can be mailed.
        json!({"twoFactorRedirect": true, "twoFactorMethods": ["totp", "otp"]})
    );
    let tf = r.set_cookie("better-auth.two_factor").unwrap();
    assert!(
        tf.contains("Max-Age=600; Path=/; HttpOnly; SameSite=Lax"),
        "{tf}"
    );
    assert!(tf.starts_with("better-auth.two_factor=2fa-"), "{tf}");
    assert_eq!(d.get("/api/auth/get-session").await.text, "null");
    let r = d
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": "000001"}),
        )
        .await;
    assert_eq!(r.code(), "INVALID_CODE");
    let r = d
        .post(
            "/api/auth/two-factor/verify-totp",
            // The step after the one that turned 2FA on: a step is accepted once per user.
            json!({"code": totp_steps_from_now(&key, 1), "trustDevice": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["token"].as_str().unwrap().len(), 32);
    assert!(r
        .set_cookie("better-auth.trust_device")
        .unwrap()
        .contains("Max-Age=2592000"));
    assert!(r
        .set_cookie("better-auth.two_factor")
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(d.session().await["user"]["email"], "tess@example.com");

    // The trusted device skips the challenge next time.
    d.post("/api/auth/sign-out", json!({})).await;
    let r = d.sign_in("tess@example.com", "password-123").await;
    assert_eq!(r.json()["redirect"], false, "{}", r.text);
    assert!(
        r.set_cookie("better-auth.trust_device").is_some(),
        "rotated"
    );

    // A backup code completes a challenge once.
    let mut e = server.client();
    e.sign_in("tess@example.com", "password-123").await;
    let r = e
        .post(
            "/api/auth/two-factor/verify-backup-code",
            json!({"code": backup[0]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut f = server.client();
    f.sign_in("tess@example.com", "password-123").await;
    let r = f
        .post(
            "/api/auth/two-factor/verify-backup-code",
            json!({"code": backup[0]}),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "INVALID_BACKUP_CODE".into()));
    // Five wrong codes burn the challenge.
    for _ in 0..3 {
        f.post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": "999999x"}),
        )
        .await;
    }
    let r = f
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": "999999x"}),
        )
        .await;
    assert_eq!(r.code(), "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE");
    let r = f
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": totp_now(&key)}),
        )
        .await;
    assert_eq!(r.code(), "INVALID_TWO_FACTOR_COOKIE");

    // New backup codes, then disable.
    let r = c
        .post(
            "/api/auth/two-factor/generate-backup-codes",
            json!({"password": "password-123"}),
        )
        .await;
    assert_eq!(r.json()["backupCodes"].as_array().unwrap().len(), 10);
    let r = c
        .post(
            "/api/auth/two-factor/disable",
            json!({"password": "password-123"}),
        )
        .await;
    assert_eq!(r.json(), json!({"status": true}));
    assert_eq!(c.session().await["user"]["twoFactorEnabled"], false);
    let mut g = server.client();
    assert_eq!(
        g.sign_in("tess@example.com", "password-123").await.json()["redirect"],
        false
    );
}

/// A sign-in waiting for its second factor was started with the password; when the owner resets
/// the password (it leaked), that sign-in ends too, whatever second factor comes later.
#[tokio::test]
async fn a_password_reset_ends_the_sign_ins_waiting_for_their_second_factor() {
    let server = TestServer::start().await;
    let mut owner = server.client();
    owner
        .sign_up("Tess", "tess@example.com", "password-123")
        .await;
    // Verified first: the second factor then survives the reset.
    server.address_verified("tess@example.com");
    let (key, _) = enable_two_factor(&mut owner, "password-123").await;
    let mut waiting = server.client();
    let r = waiting.sign_in("tess@example.com", "password-123").await;
    assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);

    server
        .reset_password("tess@example.com", 1, "password-456")
        .await;

    let r = waiting
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": totp_steps_from_now(&key, 1)}),
        )
        .await;
    assert_ne!(r.status, 200, "{}", r.text);
    assert_eq!(waiting.session().await, json!(null));
}

/// A device trusted to skip the second factor is trusted no more once the account's credentials
/// change: after a password reset (whoever had the password and the second factor when it was
/// trusted may have the new password too) and after signing out everywhere, its next sign-in is
/// challenged again.
#[tokio::test]
async fn a_trusted_device_is_challenged_again_after_a_reset_or_signing_out_everywhere() {
    let server = TestServer::start().await;
    let mut owner = server.client();
    owner
        .sign_up("Tia", "tia@example.com", "password-123")
        .await;
    // Verified first: the second factor then survives the reset.
    server.address_verified("tia@example.com");
    let (key, backup) = enable_two_factor(&mut owner, "password-123").await;
    let mut device = server.client();
    let code = totp_steps_from_now(&key, 1);
    trust(&mut device, "password-123", ("verify-totp", &code)).await;
    server
        .reset_password("tia@example.com", 1, "password-456")
        .await;
    let r = device.sign_in("tia@example.com", "password-456").await;
    assert_eq!(
        r.json()["twoFactorRedirect"],
        true,
        "still trusted after the reset: {}",
        r.text
    );

    let mut device = server.client();
    // No later TOTP step is accepted yet: the steps of a user only move on.
    trust(
        &mut device,
        "password-456",
        ("verify-backup-code", &backup[1]),
    )
    .await;
    let mut owner = server.client();
    let r = owner.sign_in("tia@example.com", "password-456").await;
    assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);
    let r = owner
        .post(
            "/api/auth/two-factor/verify-backup-code",
            json!({"code": backup[0]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        owner
            .post("/api/auth/revoke-sessions", json!({}))
            .await
            .status,
        200
    );
    let r = device.sign_in("tia@example.com", "password-456").await;
    assert_eq!(
        r.json()["twoFactorRedirect"],
        true,
        "still trusted after signing out everywhere: {}",
        r.text
    );
}

/// Signs `device` in to tia@example.com with `password` and the second factor `(route, code)`
/// under `/two-factor/`, trusting the device, and checks that its next sign-in skips the second
/// factor.
async fn trust(device: &mut Client, password: &str, (route, code): (&str, &str)) {
    let r = device.sign_in("tia@example.com", password).await;
    assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);
    let r = device
        .post(
            &format!("/api/auth/two-factor/{route}"),
            json!({"code": code, "trustDevice": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    device.post("/api/auth/sign-out", json!({})).await;
    let r = device.sign_in("tia@example.com", password).await;
    assert_eq!(r.json()["redirect"], false, "trusted: {}", r.text);
}

/// `rememberMe: false` holds through the second factor, as BetterAuth's two-factor plugin keeps
/// it (the sign-in sets the `dont_remember` marker, which the challenge's end reads): a one-day
/// session in a browser-session cookie, so closing the browser of a shared computer signs out.
/// Every second factor ends a challenge the same way; a backup code stands for them here.
#[tokio::test]
async fn remember_me_false_holds_through_the_second_factor() {
    let server = TestServer::start().await;
    let mut owner = server.client();
    owner
        .sign_up("Rem", "rem@example.com", "password-123")
        .await;
    let (key, backup) = enable_two_factor(&mut owner, "password-123").await;

    for (route, code) in [
        ("verify-totp", totp_now(&key)),
        ("verify-backup-code", backup[0].clone()),
    ] {
        let mut shared = server.client();
        let r = shared
            .post(
                "/api/auth/sign-in/email",
                json!({"email": "rem@example.com", "password": "password-123", "rememberMe": false}),
            )
            .await;
        assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);
        let r = shared
            .post(
                &format!("/api/auth/two-factor/{route}"),
                json!({"code": code}),
            )
            .await;
        assert_eq!(r.status, 200, "{route}: {}", r.text);
        let session_cookie = r.set_cookie("better-auth.session_token").unwrap();
        assert!(
            !session_cookie.contains("Max-Age"),
            "{route}: a browser-session cookie: {session_cookie}"
        );
        let marker = r.set_cookie("better-auth.dont_remember").unwrap();
        assert!(
            marker.starts_with("better-auth.dont_remember=true."),
            "{route}: {marker}"
        );
        let expires = shared.session().await["session"]["expiresAt"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap();
        assert!(
            expires < chrono::Utc::now() + chrono::Duration::hours(25),
            "{route}: the session lasts a day, not a week: {expires}"
        );
    }
}
