//! Signed-in routes that ask for the password and then change it or hand out a new session or
//! new backup codes (`change-password`, `two-factor/disable`, `two-factor/generate-backup-codes`),
//! racing what ends the user's sessions or replaces the password (a ban, a reset, signing out
//! everywhere): what ended first stays ended, and the later reset's password is the one that
//! holds.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// A server without the session cache, a signed-in user and an admin.
async fn user_and_admin() -> (TestServer, Client, String, Client) {
    let server = TestServer::start_with(Options {
        session_cache_ms: Some(0),
        ..Default::default()
    })
    .await;
    let mut user = server.client();
    let uid = user
        .sign_up_id("Uma", "uma@example.com", "password-123")
        .await;
    let mut admin = server.client();
    admin
        .sign_up_id("Root", "root@example.com", "password-123")
        .await;
    server.psql(r#"update "user" set "role" = 'admin' where "email" = 'root@example.com'"#);
    (server, user, uid, admin)
}

/// Holds every request that reads a password hash (the `account` table) until the returned
/// transaction ends: a request sent before is past its session check and waits there.
async fn hold_password_reads(server: &TestServer) -> stackr_auth::db::Client {
    let holder = server.state.db().await.unwrap();
    holder
        .batch_execute(r#"begin; lock table "account" in access exclusive mode"#)
        .await
        .unwrap();
    holder
}

fn live_sessions(server: &TestServer, uid: &str) -> String {
    server
        .psql(&format!(
            r#"select count(*) from "session" where "userId" = '{uid}'"#
        ))
        .trim()
        .to_owned()
}

/// Sends `body` to `path` as the user while a ban lands (the request past its session check, its
/// password not yet read): the banned user is left no session.
async fn a_ban_during(path: &'static str, body: serde_json::Value, two_factor: bool) {
    let (server, mut user, uid, mut admin) = user_and_admin().await;
    if two_factor {
        enable_two_factor(&mut user, "password-123").await;
    }
    let holder = hold_password_reads(&server).await;
    let request = tokio::spawn(async move {
        let r = user.post(path, body).await;
        (r.status, user)
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let r = admin
        .post("/api/auth/admin/ban-user", json!({"userId": uid}))
        .await;
    assert_eq!(r.status, 200, "ban: {}", r.text);
    holder.batch_execute("commit").await.unwrap();
    let (status, mut user) = request.await.unwrap();
    assert_eq!(
        live_sessions(&server, &uid),
        "0",
        "{path} answered {status}"
    );
    assert_eq!(user.session().await, json!(null), "the banned user is in");
}

/// `change-password {revokeOtherSessions: true}`, which hands out a new session.
#[tokio::test]
async fn a_ban_during_a_password_change_leaves_no_session() {
    a_ban_during(
        "/api/auth/change-password",
        json!({
            "currentPassword": "password-123",
            "newPassword": "password-456",
            "revokeOtherSessions": true,
        }),
        false,
    )
    .await;
}

/// Turning two-factor off, which replaces the session it is asked from.
#[tokio::test]
async fn a_ban_during_two_factor_disable_leaves_no_session() {
    a_ban_during(
        "/api/auth/two-factor/disable",
        json!({"password": "password-123"}),
        true,
    )
    .await;
}

/// Whoever holds a copy of the session and the password asks for new backup codes while the
/// owner signs out everywhere: codes written after that would be a second factor handed to a
/// session already ended. The request waits past its session check while the owner's
/// `revoke-sessions` lands, and then gets none; the owner's codes stay.
#[tokio::test]
async fn backup_codes_asked_for_while_the_owner_signs_out_everywhere_are_not_made() {
    let (server, mut thief, uid, _) = user_and_admin().await;
    let mut owner = server.client();
    let r = owner.sign_in("uma@example.com", "password-123").await;
    assert_eq!(r.status, 200, "{}", r.text);
    enable_two_factor(&mut thief, "password-123").await;
    let stored = || {
        server.psql(&format!(
            r#"select "backupCodes" from "twoFactor" where "userId" = '{uid}'"#
        ))
    };
    let before = stored();
    let holder = hold_password_reads(&server).await;
    let request = tokio::spawn(async move {
        thief
            .post(
                "/api/auth/two-factor/generate-backup-codes",
                json!({"password": "password-123"}),
            )
            .await
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    until_waiting_for_locks(&holder, 1, deadline, "the request never waited").await;
    let r = owner.post("/api/auth/revoke-sessions", json!({})).await;
    assert_eq!(r.status, 200, "revoke-sessions: {}", r.text);
    holder.batch_execute("commit").await.unwrap();
    let r = request.await.unwrap();
    assert_ne!(
        r.status, 200,
        "codes handed to an ended session: {}",
        r.text
    );
    assert_eq!(stored(), before, "the owner's codes were replaced");
}

/// Whoever holds a session and the old password changes it while the owner resets it by mail:
/// a change whose current password was checked before the reset wrote the new one must not
/// overwrite it. Both start together; the change checks the old password (one hash) and hashes
/// its new one (a second) before writing, the reset hashes once, so the reset writes in between.
#[tokio::test]
async fn a_password_change_checked_before_a_reset_does_not_undo_it() {
    let (server, _, _, _) = user_and_admin().await;
    for round in 0..3 {
        let email = format!("raced{round}@example.com");
        let mut thief = server.client();
        thief.sign_up_id("Raced", &email, "old-password-1").await;
        let token = server.reset_token(&email, 1).await;
        let mut owner = server.client();
        let change = thief.post(
            "/api/auth/change-password",
            json!({"currentPassword": "old-password-1", "newPassword": "thief-password-1"}),
        );
        let reset = owner.post(
            "/api/auth/reset-password",
            json!({"newPassword": "owner-password-1", "token": token}),
        );
        let (changed, reset) = tokio::join!(change, reset);
        assert_eq!(reset.status, 200, "round {round}: reset: {}", reset.text);
        let owners = server
            .client()
            .sign_in(&email, "owner-password-1")
            .await
            .status;
        let thiefs = server
            .client()
            .sign_in(&email, "thief-password-1")
            .await
            .status;
        assert_eq!(
            (owners, thiefs),
            (200, 401),
            "round {round}: the change (answered {}) undid the reset",
            changed.status
        );
    }
}

/// Whoever holds a session and the old password turns two-factor off while the owner resets the
/// password by mail: a disable whose password was checked before the reset wrote the new one must
/// not turn it off after that (the reset ends that session; the thief lacks the new password).
/// A share lock on the user's row holds both: the reset first, which holds that row from before
/// it writes the password, then the disable past its password check, at its first lock or write
/// of that row. (A disable that gets the row first turns two-factor off before the reset: the
/// order in which they happened.)
#[tokio::test]
async fn two_factor_disable_checked_before_a_reset_does_not_land_after_it() {
    let (server, mut thief, uid, _) = user_and_admin().await;
    // Verified first: the second factor then survives the reset, unless the disable lands.
    server.address_verified("uma@example.com");
    enable_two_factor(&mut thief, "password-123").await;
    let token = server.reset_token("uma@example.com", 1).await;
    let holder = server.state.db().await.unwrap();
    holder
        .batch_execute(&format!(
            r#"begin; select 1 from "user" where "id" = '{uid}' for share"#
        ))
        .await
        .unwrap();
    let mut owner = server.client();
    let reset = tokio::spawn(async move {
        owner
            .post(
                "/api/auth/reset-password",
                json!({"newPassword": "owner-password-1", "token": token}),
            )
            .await
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    until_waiting_for_locks(&holder, 1, deadline, "the reset never waited").await;
    let disable = tokio::spawn(async move {
        thief
            .post(
                "/api/auth/two-factor/disable",
                json!({"password": "password-123"}),
            )
            .await
    });
    until_waiting_for_locks(&holder, 2, deadline, "the disable never waited").await;
    holder.batch_execute("commit").await.unwrap();
    let (disabled, reset) = (disable.await.unwrap(), reset.await.unwrap());
    assert_eq!(reset.status, 200, "reset: {}", reset.text);
    let state = server.psql(&format!(
        r#"select u."twoFactorEnabled", (select count(*) from "twoFactor" t where t."userId" = u."id")
           from "user" u where u."id" = '{uid}'"#
    ));
    assert_eq!(
        state.trim(),
        "t|1",
        "two-factor after the reset (the disable answered {})",
        disabled.status
    );
}
