//! A second factor and a password reset by mail. Anyone may sign up with another's address and
//! turn two-factor on before its owner proved the mailbox; the owner's reset then removes that
//! factor, or the owner, holding the new password, would be locked out by a stranger's
//! authenticator. A factor enrolled once the address was verified stays: two-factor keeps
//! guarding the account against whoever takes its mailbox. An enrolment racing the reset ends
//! the same way. An account moved to another's address from a verified one is the stranger's
//! case again: its factor goes with the reset that proves the new address.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// Signs in with the password alone: the answer carries a session, no second-factor challenge.
async fn signs_in_without_second_factor(browser: &mut Client, email: &str, password: &str) {
    let r = browser.sign_in(email, password).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["twoFactorRedirect"], json!(null), "{}", r.text);
    let session = browser.session().await;
    assert_eq!(session["user"]["email"], email);
    assert_eq!(session["user"]["twoFactorEnabled"], false);
}

/// What the user's two-factor state is in the database: `twoFactorEnabled` and the number of
/// enrolments (`f|0`: none).
fn stored_two_factor(server: &TestServer, email: &str) -> String {
    server
        .psql(&format!(
            r#"select coalesce(u."twoFactorEnabled", false), (select count(*) from "twoFactor" t where t."userId" = u."id")
               from "user" u where u."email" = '{email}'"#
        ))
        .trim()
        .to_owned()
}

#[tokio::test]
async fn a_strangers_second_factor_does_not_survive_the_owners_reset() {
    let server = TestServer::start().await;
    let mut stranger = server.client();
    stranger
        .sign_up("Vic", "vic@example.com", "stranger-pass-1")
        .await;
    let (key, backup) = enable_two_factor(&mut stranger, "stranger-pass-1").await;
    assert_eq!(stored_two_factor(&server, "vic@example.com"), "t|1");

    let token = server.reset_token("vic@example.com", 1).await;
    let r = server
        .client()
        .post(
            "/api/auth/reset-password",
            json!({"newPassword": "owner-password-1", "token": token}),
        )
        .await;
    // BetterAuth's answer, unchanged.
    assert_eq!((r.status, r.json()), (200, json!({"status": true})));
    assert_eq!(stored_two_factor(&server, "vic@example.com"), "f|0");

    let mut owner = server.client();
    signs_in_without_second_factor(&mut owner, "vic@example.com", "owner-password-1").await;
    // The stranger's authenticator and backup codes open nothing: not the owner's session...
    let r = owner
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": totp_steps_from_now(&key, 1)}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "TOTP_NOT_ENABLED".into()));
    let r = owner
        .post(
            "/api/auth/two-factor/verify-backup-code",
            json!({"code": backup[0]}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "TOTP_NOT_ENABLED".into()));
    // ...nor a sign-in of the stranger's, whose password and session are gone.
    assert_eq!(stranger.session().await, json!(null));
    let r = stranger.sign_in("vic@example.com", "stranger-pass-1").await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = stranger
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": totp_steps_from_now(&key, 1)}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(stranger.session().await, json!(null));
    // The owner may enrol an authenticator of their own.
    enable_two_factor(&mut owner, "owner-password-1").await;
    assert_eq!(stored_two_factor(&server, "vic@example.com"), "t|1");
}

#[tokio::test]
async fn a_second_factor_enrolled_after_the_address_was_verified_survives_a_reset() {
    let server = TestServer::start().await;
    let mut owner = server.client();
    owner
        .sign_up("Vera", "vera@example.com", "password-123")
        .await;
    let r = owner
        .post(
            "/api/auth/send-verification-email",
            json!({"email": "vera@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let link = server.wait_for_link("vera@example.com", 1).await;
    let path = &link[link.find("/api/").unwrap()..];
    let r = owner.get(path).await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert_eq!(owner.session().await["user"]["emailVerified"], true);
    let (key, _) = enable_two_factor(&mut owner, "password-123").await;

    server
        .reset_password("vera@example.com", 2, "password-456")
        .await;

    assert_eq!(stored_two_factor(&server, "vera@example.com"), "t|1");
    let mut browser = server.client();
    let r = browser.sign_in("vera@example.com", "password-456").await;
    assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);
    let r = browser
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": totp_steps_from_now(&key, 1)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(browser.session().await["user"]["email"], "vera@example.com");
}

/// The stranger turns two-factor on (`verify-totp` with a session, past its code check) while
/// the owner's reset completes, in either order: held by a lock on the user's row that both
/// wait for. Whichever goes first, the owner then signs in with the new password alone.
#[tokio::test]
async fn an_enrolment_racing_the_owners_reset_does_not_lock_the_owner_out() {
    for reset_first in [true, false] {
        let server = TestServer::start_with(Options {
            session_cache_ms: Some(0),
            ..Default::default()
        })
        .await;
        let email = "vi@example.com";
        let mut stranger = server.client();
        let uid = stranger.sign_up_id("Vi", email, "stranger-pass-1").await;
        let r = stranger
            .post(
                "/api/auth/two-factor/enable",
                json!({"password": "stranger-pass-1"}),
            )
            .await;
        assert_eq!(r.status, 200, "enable: {}", r.text);
        let key = key_from_uri(r.json()["totpURI"].as_str().unwrap());
        let token = server.reset_token(email, 1).await;

        let holder = server.state.db().await.unwrap();
        holder
            .batch_execute(&format!(
                r#"begin; select 1 from "user" where "id" = '{uid}' for update"#
            ))
            .await
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut owner = server.client();
        let reset = async move {
            owner
                .post(
                    "/api/auth/reset-password",
                    json!({"newPassword": "owner-password-1", "token": token}),
                )
                .await
        };
        let verify = async move {
            stranger
                .post(
                    "/api/auth/two-factor/verify-totp",
                    json!({"code": totp_steps_from_now(&key, -1)}),
                )
                .await
        };
        // The one sent first waits before the other is sent: the row lock goes in that order.
        let wait_for = |count: usize| {
            let failure = format!("only {} of the requests waited", count - 1);
            let holder = &holder;
            async move { until_waiting_for_locks(holder, count, deadline, &failure).await }
        };
        let (reset, verify) = if reset_first {
            let reset = tokio::spawn(reset);
            wait_for(1).await;
            let verify = tokio::spawn(verify);
            wait_for(2).await;
            (reset, verify)
        } else {
            let verify = tokio::spawn(verify);
            wait_for(1).await;
            let reset = tokio::spawn(reset);
            wait_for(2).await;
            (reset, verify)
        };
        holder.batch_execute("commit").await.unwrap();
        let (reset, verify) = (reset.await.unwrap(), verify.await.unwrap());
        assert_eq!(reset.status, 200, "reset: {}", reset.text);
        assert_eq!(
            stored_two_factor(&server, email),
            "f|0",
            "reset first: {reset_first}; verify-totp answered {}",
            verify.status
        );
        let mut owner = server.client();
        signs_in_without_second_factor(&mut owner, email, "owner-password-1").await;
    }
}

/// A copy of the owner's session cookie (no password, no authenticator) may ask to move an
/// account whose address is not verified straight to an address of the thief's (as in
/// BetterAuth), and then reset the password through that mailbox. The owner's second factor,
/// enrolled before the address was verified, must still stand between the thief and the
/// account: the new mailbox agreed to take the account as it was, factor included, and is no
/// address the factor was enrolled ahead of.
#[tokio::test]
async fn a_copied_session_cannot_shed_the_owners_factor_by_moving_the_account() {
    let server = TestServer::start().await;
    let mut owner = server.client();
    owner
        .sign_up("Ola", "ola@example.com", "owner-pass-1")
        .await;
    let (key, _) = enable_two_factor(&mut owner, "owner-pass-1").await;
    let mut thief = server.client();
    thief.cookies = owner.cookies.clone();

    let link = change_link(&server, &mut thief, "thief@example.com").await;
    let r = thief.get(&link[link.find("/api/").unwrap()..]).await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert_eq!(thief.session().await["user"]["email"], "thief@example.com");
    server
        .reset_password("thief@example.com", 2, "thief-pass-1")
        .await;

    assert_eq!(stored_two_factor(&server, "thief@example.com"), "t|1");
    let mut browser = server.client();
    let r = browser.sign_in("thief@example.com", "thief-pass-1").await;
    assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);
    assert_eq!(browser.session().await, json!(null));
    // The owner's authenticator still guards it.
    let r = browser
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": totp_steps_from_now(&key, 1)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// The same move made between the owner's `two-factor/enable` and the `verify-totp` that turns
/// it on: the factor is the moved account's all the same, and stays through the new mailbox's
/// reset.
#[tokio::test]
async fn an_enrolment_finished_after_the_move_stays_through_the_reset() {
    let server = TestServer::start().await;
    let mut owner = server.client();
    owner
        .sign_up("Ola", "ola@example.com", "owner-pass-1")
        .await;
    let r = owner
        .post(
            "/api/auth/two-factor/enable",
            json!({"password": "owner-pass-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let key = key_from_uri(r.json()["totpURI"].as_str().unwrap());

    let link = change_link(&server, &mut owner, "new@example.com").await;
    let r = owner.get(&link[link.find("/api/").unwrap()..]).await;
    assert_eq!(r.status, 302, "{}", r.text);
    let r = owner
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": totp_steps_from_now(&key, 0)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    server
        .reset_password("new@example.com", 2, "new-pass-1")
        .await;

    assert_eq!(stored_two_factor(&server, "new@example.com"), "t|1");
}

/// An account with two-factor on moves from its verified address to another (confirmed at the
/// old mailbox, verified at the new one), and later a password is reset through the new mailbox.
/// The factor, enrolled before the move or after it, stays: it is what stands between whoever
/// reads the mailbox and the account. The server cannot tell its owner moving it to a mailbox of
/// their own from a holder moving it to another's (whose owner followed a mail that said only to
/// make it the account's address): that owner's reset then leaves them locked out by the holder's
/// authenticator, but gives the holder nothing (their sessions and provider identities end with
/// it), where shedding the factor would give any reader of the mailbox the account.
async fn a_factor_stays_through_a_reset_at_the_address_the_account_moved_to(
    enrol_after_the_move: bool,
) {
    let server = TestServer::start().await;
    let mut holder = server.client();
    holder
        .sign_up("Mal", "mal@evil.example", "holder-pass-1")
        .await;
    server.psql(r#"update "user" set "emailVerified" = true where "email" = 'mal@evil.example'"#);
    if !enrol_after_the_move {
        enable_two_factor(&mut holder, "holder-pass-1").await;
    }
    server
        .move_address(&mut holder, "mal@evil.example", 1, "alice@example.com")
        .await;
    if enrol_after_the_move {
        enable_two_factor(&mut holder, "holder-pass-1").await;
    }
    assert_eq!(stored_two_factor(&server, "alice@example.com"), "t|1");

    server
        .reset_password("alice@example.com", 2, "alice-pass-1")
        .await;

    assert_eq!(stored_two_factor(&server, "alice@example.com"), "t|1");
    let mut mailbox_reader = server.client();
    let r = mailbox_reader
        .sign_in("alice@example.com", "alice-pass-1")
        .await;
    assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);
    assert_eq!(mailbox_reader.session().await, json!(null));
}

#[tokio::test]
async fn a_factor_stays_through_a_reset_at_the_address_it_moved_to() {
    a_factor_stays_through_a_reset_at_the_address_the_account_moved_to(false).await;
}

#[tokio::test]
async fn a_factor_enrolled_after_the_move_stays_through_a_reset_at_the_new_address() {
    a_factor_stays_through_a_reset_at_the_address_the_account_moved_to(true).await;
}
