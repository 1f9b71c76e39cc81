//! Sign-ins racing what ends all of a user's sessions (a password reset, a ban): a sign-in that
//! was checked just before must not leave a session behind.

use std::sync::Arc;

use serde_json::json;
use tokio::task::JoinSet;

use super::harness::{Attack, Outcome, Stack, User};
use super::password_reset::{reset_token, reset_with};
use crate::ensure;

/// Sends 8 sign-ins of `user` with `password`, 10 ms apart, while `end` runs; then no session of
/// the user may be left.
async fn sign_ins_racing(
    stack: &Stack,
    user: &User,
    password: &str,
    end: impl std::future::Future<Output = ()>,
) -> Outcome {
    let mut sign_ins = JoinSet::new();
    for k in 0..8u64 {
        let mut c = stack.client();
        let (email, password) = (user.email.clone(), password.to_owned());
        sign_ins.spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(k * 10)).await;
            c.sign_in(&email, &password).await.status
        });
    }
    end.await;
    let mut statuses = Vec::new();
    while let Some(status) = sign_ins.join_next().await {
        statuses.push(status.unwrap());
    }
    let alive = stack.sessions_of(&user.id).await;
    ensure!(
        alive == 0,
        "{alive} session(s) outlived it (sign-ins answered {statuses:?})"
    );
    Ok(())
}

/// Whoever knows the old password signs in again and again while the owner resets it. Three
/// rounds, each with its own user (the refused sign-ins count against the account's budget).
async fn sign_ins_racing_a_reset(stack: Arc<Stack>) -> Outcome {
    for round in 0..3 {
        let (_, user) = stack.user("raced-reset").await;
        let token = reset_token(&stack, &user, 1).await;
        let reset = async {
            let r = reset_with(&stack, &token, "owner-new-password-1").await;
            assert_eq!(r.status, 200, "reset: {}", r.text);
        };
        sign_ins_racing(&stack, &user, &user.password, reset)
            .await
            .map_err(|e| format!("round {round}: {e}"))?;
    }
    Ok(())
}

/// A banned user's sign-ins in flight while an admin bans them.
async fn sign_ins_racing_a_ban(stack: Arc<Stack>) -> Outcome {
    let (admin_browser, admin) = stack.user("racing-admin").await;
    stack.make_admin(&admin.id).await;
    for round in 0..3 {
        let (_, user) = stack.user("raced-ban").await;
        let ban = async {
            let r = stack
                .moved(&admin_browser)
                .post("/api/auth/admin/ban-user", json!({"userId": user.id}))
                .await;
            assert_eq!(r.status, 200, "ban: {}", r.text);
        };
        sign_ins_racing(&stack, &user, &user.password, ban)
            .await
            .map_err(|e| format!("round {round}: {e}"))?;
    }
    Ok(())
}

pub fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            attack: "8 sign-ins with the old password racing its reset",
            refusal: "no session of the old password outlives the reset",
            run: |s| Box::pin(sign_ins_racing_a_reset(s)),
        },
        Attack {
            attack: "8 sign-ins of a user racing their ban",
            refusal: "no session outlives the ban",
            run: |s| Box::pin(sign_ins_racing_a_ban(s)),
        },
    ]
}
