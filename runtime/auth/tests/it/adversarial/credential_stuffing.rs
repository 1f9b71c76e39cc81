//! Password guessing that per-IP limits alone do not stop: many addresses against one account,
//! one IPv6 client rotating through its own /64, and a stolen session cookie guessing at the
//! password through the routes that check it again.

use std::sync::Arc;

use serde_json::json;

use super::harness::{Attack, Outcome, Stack, PROXY_ADDRESS};
use crate::common::Client;
use crate::ensure;

/// Guesses, all at once from as many addresses: more than the account's budget.
const GUESSES: u32 = stackr_auth::account_throttle::BUDGET + 5;

async fn many_addresses_one_account(stack: Arc<Stack>) -> Outcome {
    let (_, user) = stack.user("stuffed").await;
    let sessions = stack.sessions_of(&user.id).await;
    let mut guesses = tokio::task::JoinSet::new();
    for n in 0..GUESSES {
        let mut c = stack.client();
        let email = user.email.clone();
        guesses.spawn(async move { c.sign_in(&email, &format!("guess-number-{n}")).await });
    }
    while let Some(r) = guesses.join_next().await {
        let r = r.unwrap();
        assert_eq!(r.status, 401, "a guess: {}", r.text);
    }
    let right = stack.client().sign_in(&user.email, &user.password).await;
    let unknown = stack
        .client()
        .sign_in("nobody-at-all@example.com", &user.password)
        .await;
    ensure!(
        (right.status, &right.text) == (unknown.status, &unknown.text),
        "after {GUESSES} wrong guesses from {GUESSES} addresses the right password answered {} {} (an unknown account answers {} {})",
        right.status,
        right.text,
        unknown.status,
        unknown.text
    );
    ensure!(
        stack.sessions_of(&user.id).await == sessions,
        "a session was created"
    );
    Ok(())
}

/// Whoever holds a stolen session cookie (but not the password) guesses at the password through
/// `two-factor/enable`, which checks it again, from as many addresses as guesses.
async fn stolen_session_guesses_the_password(stack: Arc<Stack>) -> Outcome {
    let (owner, user) = stack.user("stolen-cookie").await;
    let enable = |c: Client, password: String| async move {
        let mut c = c;
        c.post("/api/auth/two-factor/enable", json!({"password": password}))
            .await
    };
    for n in 0..GUESSES {
        let r = enable(stack.moved(&owner), format!("guess-number-{n}")).await;
        assert_eq!(r.code(), "INVALID_PASSWORD", "a guess: {}", r.text);
    }
    let right = enable(stack.moved(&owner), user.password.clone()).await;
    ensure!(
        right.code() == "INVALID_PASSWORD",
        "after {GUESSES} wrong guesses the right password answered {} {}",
        right.status,
        right.text
    );
    ensure!(
        stack
            .count(
                r#"select count(*) from "twoFactor" where "userId" = $1"#,
                &user.id
            )
            .await
            == 0,
        "two-factor was set up"
    );
    Ok(())
}

/// Anyone who knows the email address uses up the account's budget; the owner's browser, which
/// signed in before, must still sign in, while a browser that signed in to the attacker's own
/// account gains nothing on the victim's.
async fn lockout_spares_the_owners_browser(stack: Arc<Stack>) -> Outcome {
    let (signed_up, user) = stack.user("locked-out").await;
    let mut owner = stack.moved(&signed_up);
    let r = owner.sign_in(&user.email, &user.password).await;
    assert_eq!(r.status, 200, "the owner's sign-in: {}", r.text);
    let (attacker_own, attacker) = stack.user("lockout-attacker").await;
    let mut attacker_browser = stack.moved(&attacker_own);
    let r = attacker_browser
        .sign_in(&attacker.email, &attacker.password)
        .await;
    assert_eq!(r.status, 200, "the attacker's own sign-in: {}", r.text);
    for n in 0..GUESSES {
        let mut c = stack.client();
        let r = c.sign_in(&user.email, &format!("guess-number-{n}")).await;
        assert_eq!(r.status, 401, "a guess: {}", r.text);
    }
    let from_attacker = stack
        .moved(&attacker_browser)
        .sign_in(&user.email, &user.password)
        .await;
    ensure!(
        from_attacker.status == 401,
        "the right password from a browser known to another account answered {} {}",
        from_attacker.status,
        from_attacker.text
    );
    let fresh = stack.client().sign_in(&user.email, &user.password).await;
    ensure!(
        fresh.status == 401,
        "the right password from a new browser answered {} {} while the account is locked",
        fresh.status,
        fresh.text
    );
    let mut owner_again = stack.moved(&owner);
    let r = owner_again.sign_in(&user.email, &user.password).await;
    ensure!(
        r.status == 200,
        "the owner's own browser was locked out: {} {}",
        r.status,
        r.text
    );
    Ok(())
}

/// The owner, locked out by guesses, changes the password from their browser (signed in) or
/// resets it there (from the mail), and the guesses go on: that browser must still sign in.
async fn lockout_after_a_new_password(stack: Arc<Stack>) -> Outcome {
    for by_reset in [false, true] {
        let (signed_up, user) = stack.user("new-password-lockout").await;
        let mut owner = stack.moved(&signed_up);
        let new_password = "owner-new-password-1";
        let r = if by_reset {
            let token = super::password_reset::reset_token(&stack, &user, 1).await;
            owner
                .post(
                    "/api/auth/reset-password",
                    json!({"token": token, "newPassword": new_password}),
                )
                .await
        } else {
            owner
                .post(
                    "/api/auth/change-password",
                    json!({"currentPassword": user.password, "newPassword": new_password}),
                )
                .await
        };
        assert_eq!(r.status, 200, "new password: {}", r.text);
        for n in 0..GUESSES {
            let r = stack
                .client()
                .sign_in(&user.email, &format!("guess-number-{n}"))
                .await;
            assert_eq!(r.status, 401, "a guess: {}", r.text);
        }
        let r = stack.moved(&owner).sign_in(&user.email, new_password).await;
        let how = if by_reset { "reset" } else { "changed" };
        ensure!(
            r.status == 200,
            "the owner's browser, which {how} the password, was locked out: {} {}",
            r.status,
            r.text
        );
    }
    Ok(())
}

/// The owner changes the account's address (signed in, through the link mailed to the new one),
/// and guesses at the new address lock the account: the owner's browser, known before the change,
/// must still sign in with it.
async fn lockout_after_a_new_address(stack: Arc<Stack>) -> Outcome {
    let (signed_up, user) = stack.user("new-address-lockout").await;
    let mut owner = stack.moved(&signed_up);
    let new_email = format!("moved-{}", user.email);
    let r = owner
        .post("/api/auth/change-email", json!({"newEmail": new_email}))
        .await;
    assert_eq!(r.status, 200, "change-email: {}", r.text);
    let link = stack.server.wait_for_link(&new_email, 1).await;
    let link = url::Url::parse(&link).unwrap();
    let r = stack
        .client()
        .get(&format!("{}?{}", link.path(), link.query().unwrap()))
        .await;
    assert_eq!(r.status, 302, "the link: {}", r.text);
    for n in 0..GUESSES {
        let r = stack
            .client()
            .sign_in(&new_email, &format!("guess-number-{n}"))
            .await;
        assert_eq!(r.status, 401, "a guess: {}", r.text);
    }
    let r = stack
        .moved(&owner)
        .sign_in(&new_email, &user.password)
        .await;
    ensure!(
        r.status == 200,
        "the owner's browser was locked out of the account's new address: {} {}",
        r.status,
        r.text
    );
    Ok(())
}

async fn ipv6_rotation_within_a_64(stack: Arc<Stack>) -> Outcome {
    let mut proxy = Client::from_address(&stack.server.base, Some(PROXY_ADDRESS));
    let mut statuses = Vec::new();
    for n in 1..=6 {
        let req = proxy
            .raw()
            .post(proxy.url("/api/auth/sign-up/email"))
            .header("origin", crate::common::APP_ORIGIN)
            .header("x-forwarded-for", format!("2001:db8:7:7::{n:x}"))
            .json(&json!({"name": "v6", "email": "bad", "password": "password-v6-1"}));
        statuses.push(proxy.send(req).await.status);
    }
    ensure!(
        statuses[3..].iter().all(|s| *s == 429),
        "addresses of one /64 each got their own limit: {statuses:?}"
    );
    Ok(())
}

pub fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            attack: "more wrong passwords than the account's budget, at once from as many addresses, then the right one",
            refusal: "the right one is answered exactly like for an unknown account, no session",
            run: |s| Box::pin(many_addresses_one_account(s)),
        },
        Attack {
            attack: "a stolen session cookie guessing the password through two-factor/enable, from as many addresses as guesses",
            refusal: "the account's budget runs out: then the right password is refused too",
            run: |s| Box::pin(stolen_session_guesses_the_password(s)),
        },
        Attack {
            attack: "more wrong passwords than the account's budget, to lock its owner out",
            refusal: "the owner's browser, which signed in before, still signs in; new browsers and the attacker's own do not",
            run: |s| Box::pin(lockout_spares_the_owners_browser(s)),
        },
        Attack {
            attack: "guesses that lock the account after its owner changed or reset the password in their browser",
            refusal: "that browser still signs in with the new password",
            run: |s| Box::pin(lockout_after_a_new_password(s)),
        },
        Attack {
            attack: "guesses that lock the account at the new address its owner just changed it to",
            refusal: "the owner's browser, known before the change, still signs in at the new address",
            run: |s| Box::pin(lockout_after_a_new_address(s)),
        },
        Attack {
            attack: "an IPv6 client rotating addresses inside its /64 to dodge the sign-up limit",
            refusal: "one limit for the whole /64: 429 after 3",
            run: |s| Box::pin(ipv6_rotation_within_a_64(s)),
        },
    ]
}
