//! Attacks on password reset: old reset tokens outliving a reset or a password change, one
//! token raced by several requests, and a lock from guesses after a reset.

use std::sync::Arc;

use serde_json::json;
use tokio::task::JoinSet;

use super::harness::{Attack, Outcome, Stack, User};
use crate::ensure;

/// Asks for a reset mail (from a new address) and returns the token in the `n`-th mail to `user`.
pub(super) async fn reset_token(stack: &Stack, user: &User, n: usize) -> String {
    let r = stack
        .client()
        .post(
            "/api/auth/request-password-reset",
            json!({"email": user.email}),
        )
        .await;
    assert_eq!(r.status, 200, "request-password-reset: {}", r.text);
    let link = stack.server.wait_for_link(&user.email, n).await;
    let path = url::Url::parse(&link).unwrap().path().to_owned();
    path.rsplit('/').next().unwrap().to_owned()
}

pub(super) async fn reset_with(
    stack: &Stack,
    token: &str,
    new_password: &str,
) -> crate::common::Response {
    stack
        .client()
        .post(
            "/api/auth/reset-password",
            json!({"token": token, "newPassword": new_password}),
        )
        .await
}

async fn password_hash(stack: &Stack, user_id: &str) -> Option<String> {
    stack
        .text(
            r#"select "password" from "account" where "userId" = $1 and "providerId" = 'credential'"#,
            user_id,
        )
        .await
}

/// A token that must be dead: using it fails with `INVALID_TOKEN` and leaves the password alone.
async fn refused_token(stack: &Stack, user: &User, token: &str) -> Outcome {
    let hash = password_hash(stack, &user.id).await;
    let r = reset_with(stack, token, "attacker-password-1").await;
    ensure!(
        r.status == 400 && r.code() == "INVALID_TOKEN",
        "the old token answered {} {}",
        r.status,
        r.text
    );
    ensure!(
        password_hash(stack, &user.id).await == hash,
        "the password changed"
    );
    Ok(())
}

async fn older_token_after_reset(stack: Arc<Stack>) -> Outcome {
    let (_, user) = stack.user("reset").await;
    let older = reset_token(&stack, &user, 1).await;
    let newer = reset_token(&stack, &user, 2).await;
    let r = reset_with(&stack, &newer, "owner-new-password-1").await;
    assert_eq!(r.status, 200, "reset: {}", r.text);
    refused_token(&stack, &user, &older).await
}

async fn token_after_change_password(stack: Arc<Stack>) -> Outcome {
    let (owner, user) = stack.user("reset").await;
    let token = reset_token(&stack, &user, 1).await;
    let r = stack
        .moved(&owner)
        .post(
            "/api/auth/change-password",
            json!({"currentPassword": user.password, "newPassword": "owner-new-password-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "change-password: {}", r.text);
    refused_token(&stack, &user, &token).await
}

async fn token_after_an_admin_set_the_password(stack: Arc<Stack>) -> Outcome {
    let (admin_browser, admin) = stack.user("password-admin").await;
    stack.make_admin(&admin.id).await;
    let (_, user) = stack.user("reset").await;
    let token = reset_token(&stack, &user, 1).await;
    let r = stack
        .moved(&admin_browser)
        .post(
            "/api/auth/admin/set-user-password",
            json!({"userId": user.id, "newPassword": "admin-set-password-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "set-user-password: {}", r.text);
    refused_token(&stack, &user, &token).await
}

/// The owner moved the account to a new address; whoever reads the old mailbox uses a reset link
/// that went there before.
async fn token_mailed_to_the_old_address(stack: Arc<Stack>) -> Outcome {
    let (owner, user) = stack.user("reset-old-address").await;
    let token = reset_token(&stack, &user, 1).await;
    let new_email = format!("moved-{}", user.email);
    let r = stack
        .moved(&owner)
        .post("/api/auth/change-email", json!({"newEmail": new_email}))
        .await;
    assert_eq!(r.status, 200, "change-email: {}", r.text);
    let link = url::Url::parse(&stack.server.wait_for_link(&new_email, 1).await).unwrap();
    let r = stack
        .client()
        .get(&format!("{}?{}", link.path(), link.query().unwrap()))
        .await;
    assert_eq!(r.status, 302, "the link: {}", r.text);
    refused_token(&stack, &user, &token).await
}

async fn token_raced(stack: Arc<Stack>) -> Outcome {
    let (_, user) = stack.user("reset").await;
    let token = reset_token(&stack, &user, 1).await;
    let mut tasks = JoinSet::new();
    for n in 0..8 {
        let mut c = stack.client();
        let token = token.clone();
        tasks.spawn(async move {
            c.post(
                "/api/auth/reset-password",
                json!({"token": token, "newPassword": format!("racer-password-{n}")}),
            )
            .await
            .status
        });
    }
    let mut ok = 0;
    while let Some(status) = tasks.join_next().await {
        ok += usize::from(status.unwrap() == 200);
    }
    ensure!(ok == 1, "one reset token set the password {ok} times");
    Ok(())
}

/// Guesses from many addresses used up the account's budget; the owner resets the password
/// from the mail and signs in from a browser the account has never seen.
async fn reset_lifts_the_lock(stack: Arc<Stack>) -> Outcome {
    let (_, user) = stack.user("reset-after-lockout").await;
    for n in 0..stackr_auth::account_throttle::BUDGET + 1 {
        let r = stack
            .client()
            .sign_in(&user.email, &format!("guess-number-{n}"))
            .await;
        assert_eq!(r.status, 401, "a guess: {}", r.text);
    }
    let token = reset_token(&stack, &user, 1).await;
    let r = reset_with(&stack, &token, "owner-new-password-1").await;
    assert_eq!(r.status, 200, "reset: {}", r.text);
    let r = stack
        .client()
        .sign_in(&user.email, "owner-new-password-1")
        .await;
    ensure!(
        r.status == 200,
        "the new password after the reset answered {} {}",
        r.status,
        r.text
    );
    Ok(())
}

/// Whoever had the password signed in (earning a known-device cookie) before the owner reset it;
/// their guesses at the new password from that browser must draw on the account's budget.
async fn known_device_of_a_reset_password(stack: Arc<Stack>) -> Outcome {
    let (_, user) = stack.user("known-before-reset").await;
    let (thief, r) = stack.sign_in(&user).await;
    assert_eq!(r.status, 200, "the thief's sign-in: {}", r.text);
    let token = reset_token(&stack, &user, 1).await;
    let r = reset_with(&stack, &token, "owner-new-password-1").await;
    assert_eq!(r.status, 200, "reset: {}", r.text);
    for n in 0..stackr_auth::account_throttle::BUDGET + 1 {
        let r = stack
            .moved(&thief)
            .sign_in(&user.email, &format!("guess-number-{n}"))
            .await;
        assert_eq!(r.status, 401, "a guess: {}", r.text);
    }
    let r = stack
        .client()
        .sign_in(&user.email, "owner-new-password-1")
        .await;
    ensure!(
        r.status == 401,
        "the guesses from the browser known before the reset had a budget of their own: the account is not locked ({} {})",
        r.status,
        r.text
    );
    Ok(())
}

pub fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            attack: "an older reset token used after a newer one reset the password",
            refusal: "400 INVALID_TOKEN, password unchanged",
            run: |s| Box::pin(older_token_after_reset(s)),
        },
        Attack {
            attack: "a reset token used after the owner changed the password",
            refusal: "400 INVALID_TOKEN, password unchanged",
            run: |s| Box::pin(token_after_change_password(s)),
        },
        Attack {
            attack:
                "a reset token mailed to the old address used after the owner changed the address",
            refusal: "400 INVALID_TOKEN, password unchanged",
            run: |s| Box::pin(token_mailed_to_the_old_address(s)),
        },
        Attack {
            attack: "a reset token used after an admin set the password",
            refusal: "400 INVALID_TOKEN, password unchanged",
            run: |s| Box::pin(token_after_an_admin_set_the_password(s)),
        },
        Attack {
            attack: "one reset token sent by 8 requests at once",
            refusal: "exactly one of them sets the password",
            run: |s| Box::pin(token_raced(s)),
        },
        Attack {
            attack: "wrong passwords that used up the account's budget, then the owner resets it",
            refusal: "the owner signs in with the new password from a new browser",
            run: |s| Box::pin(reset_lifts_the_lock(s)),
        },
        Attack {
            attack: "guesses at the new password from a browser that signed in with the old one",
            refusal: "they draw on the account's budget, which runs out",
            run: |s| Box::pin(known_device_of_a_reset_password(s)),
        },
    ]
}
