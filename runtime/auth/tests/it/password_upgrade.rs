//! A sign-in that upgrades a legacy (BetterAuth scrypt) hash to argon2id writes the new hash only
//! over the one it checked: a reset or change that came in between must win, or the reset would
//! be undone by whoever still knows the old password.

use crate::common::TestServer;

#[tokio::test]
async fn an_upgrade_never_overwrites_a_newer_password() {
    let server = TestServer::start().await;
    let r = server
        .client()
        .sign_up("Ada", "ada@example.com", "password-123")
        .await;
    let user_id = r.json()["user"]["id"].as_str().unwrap().to_owned();
    let client = server.state.db().await.unwrap();
    let stored = || {
        server.psql(&format!(
            r#"select "password" from "account" where "userId" = '{user_id}' and "providerId" = 'credential'"#
        ))
    };
    let reset_hash = stored();
    // The sign-in checked the legacy hash; the reset has replaced it since.
    let replaced = stackr_auth::db::accounts::replace_credential_password(
        &client,
        &user_id,
        "legacy-hash-the-sign-in-checked",
        "argon2-of-the-old-password",
    )
    .await
    .unwrap();
    assert!(!replaced);
    assert_eq!(stored(), reset_hash, "the reset's hash stays");
    let replaced = stackr_auth::db::accounts::replace_credential_password(
        &client,
        &user_id,
        &reset_hash,
        "argon2-upgrade",
    )
    .await
    .unwrap();
    assert!(replaced);
    assert_eq!(stored(), "argon2-upgrade");
}
