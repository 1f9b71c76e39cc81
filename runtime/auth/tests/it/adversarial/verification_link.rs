//! A verification link raced by many requests. Links are stateless signed tokens (as BetterAuth's
//! are), so a second use is harmless by design; what must hold is that any number of concurrent
//! uses verifies the address and does nothing else: no session, no error. And a change-email link
//! asked for with a stolen session cookie, kept until after the owner reset the password.

use std::sync::Arc;

use serde_json::json;
use tokio::task::JoinSet;

use super::harness::{Attack, Outcome, Stack};
use crate::ensure;

async fn link_raced(stack: Arc<Stack>) -> Outcome {
    let (mut owner, user) = stack.user("verify").await;
    let r = owner
        .post(
            "/api/auth/send-verification-email",
            json!({"email": user.email}),
        )
        .await;
    assert_eq!(r.status, 200, "send-verification-email: {}", r.text);
    let link = url::Url::parse(&stack.server.wait_for_link(&user.email, 1).await).unwrap();
    let path = format!("{}?{}", link.path(), link.query().unwrap_or_default());
    let sessions = stack.sessions_of(&user.id).await;
    let mut tasks = JoinSet::new();
    for _ in 0..8 {
        let mut c = stack.client();
        let path = path.clone();
        tasks.spawn(async move { c.get(&path).await });
    }
    let mut answers = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let r = r.unwrap();
        answers.push((r.status, r.set_cookies().len()));
    }
    ensure!(
        answers.iter().all(|a| *a == (302, 0)),
        "answers (status, cookies set): {answers:?}"
    );
    let verified = stack
        .text(
            r#"select "emailVerified"::text from "user" where "id" = $1"#,
            &user.id,
        )
        .await;
    ensure!(
        verified.as_deref() == Some("true"),
        "emailVerified is {verified:?}"
    );
    let created = stack.sessions_of(&user.id).await - sessions;
    ensure!(created == 0, "{created} sessions were created");
    Ok(())
}

/// The thief copied the owner's session cookie, asked for the account to move to an address of
/// theirs and kept the link; the owner reset the password (ending every session). Opening the link
/// afterwards, signed out, would move the account to the thief's address.
async fn change_link_kept_past_a_reset(stack: Arc<Stack>) -> Outcome {
    let (owner, user) = stack.user("stolen-cookie").await;
    let thief_address = format!("thief-of-{}", user.email);
    let r = stack
        .moved(&owner)
        .post("/api/auth/change-email", json!({"newEmail": thief_address}))
        .await;
    assert_eq!(r.status, 200, "change-email: {}", r.text);
    let link = url::Url::parse(&stack.server.wait_for_link(&thief_address, 1).await).unwrap();
    let token = super::password_reset::reset_token(&stack, &user, 1).await;
    let r = super::password_reset::reset_with(&stack, &token, "owner-new-password-1").await;
    assert_eq!(r.status, 200, "reset: {}", r.text);
    let r = stack
        .client()
        .get(&format!("{}?{}", link.path(), link.query().unwrap()))
        .await;
    let location = r
        .headers
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    ensure!(
        location
            .as_deref()
            .is_some_and(|l| l.ends_with("error=CREDENTIALS_CHANGED")),
        "the link answered {} {location:?}",
        r.status
    );
    let email = stack
        .text(r#"select "email" from "user" where "id" = $1"#, &user.id)
        .await;
    ensure!(
        email.as_deref() == Some(user.email.as_str()),
        "the address is now {email:?}"
    );
    Ok(())
}

pub fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            attack: "one verification link opened by 8 requests at once",
            refusal: "each is redirected without a cookie, the address is verified, no session",
            run: |s| Box::pin(link_raced(s)),
        },
        Attack {
            attack: "a change-email link asked for with a stolen session, opened after the owner reset the password",
            refusal: "CREDENTIALS_CHANGED, the address unchanged",
            run: |s| Box::pin(change_link_kept_past_a_reset(s)),
        },
    ]
}
