//! Turning two-factor on: only the authenticator's code, during enrolment, does it.

use crate::common;

use common::*;
use serde_json::json;

/// `enable` answers the backup codes beside the key; one of them, sent from the signed-in
/// session before the authenticator was confirmed, turned two-factor on, and the user was asked
/// for codes of an authenticator they never set up. The code is spent and the session answered,
/// as BetterAuth does, and two-factor stays off until `verify-totp`.
#[tokio::test]
async fn a_backup_code_does_not_turn_two_factor_on() {
    let server = TestServer::start().await;
    let mut owner = server.client();
    owner
        .sign_up("Bea", "bea@example.com", "password-123")
        .await;
    let r = owner
        .post(
            "/api/auth/two-factor/enable",
            json!({"password": "password-123"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let key = key_from_uri(r.json()["totpURI"].as_str().unwrap());
    let backup: Vec<String> = serde_json::from_value(r.json()["backupCodes"].clone()).unwrap();
    let token = owner.session().await["session"]["token"].clone();

    let r = owner
        .post(
            "/api/auth/two-factor/verify-backup-code",
            json!({"code": backup[0]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["token"],
        token,
        "the session answered, not rotated"
    );
    assert_eq!(r.json()["user"]["twoFactorEnabled"], false, "{}", r.text);
    assert_eq!(owner.session().await["user"]["twoFactorEnabled"], false);
    assert_eq!(
        server.psql(r#"select "verified" from "twoFactor""#),
        "f",
        "the enrolment is not confirmed"
    );
    let r = server
        .client()
        .sign_in("bea@example.com", "password-123")
        .await;
    assert_eq!(
        r.json()["redirect"],
        false,
        "no second factor asked: {}",
        r.text
    );
    // Spent: it does not open a session twice.
    let r = owner
        .post(
            "/api/auth/two-factor/verify-backup-code",
            json!({"code": backup[0]}),
        )
        .await;
    assert_eq!(r.code(), "INVALID_BACKUP_CODE", "{}", r.text);

    // The authenticator's code turns it on.
    let r = owner
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": totp_now(&key)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["user"]["twoFactorEnabled"], true);
    let r = server
        .client()
        .sign_in("bea@example.com", "password-123")
        .await;
    assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);
}
