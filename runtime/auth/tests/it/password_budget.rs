//! An account's budget of password attempts holds across every auth process on its database:
//! replicas behind a load balancer share it, and a restart does not refill it. Otherwise each
//! replica would take its own full budget of guesses, and a deploy would hand out a new one.

use stackr_auth::account_throttle::BUDGET;

use crate::common::{Client, TestServer};

const PASSWORD: &str = "the-right-password-1";

/// Whether the right password, from a fresh browser at `base`, now answers as a wrong one.
async fn right_password_refused(base: &str, email: &str) -> bool {
    let r = Client::new(base).sign_in(email, PASSWORD).await;
    match r.status {
        200 => false,
        401 => true,
        other => panic!("sign-in answered {other}: {}", r.text),
    }
}

async fn guess(base: &str, email: &str, n: u32) {
    let r = Client::new(base)
        .sign_in(email, &format!("guess-{n}"))
        .await;
    assert_eq!(r.status, 401, "a wrong guess: {}", r.text);
}

#[tokio::test]
async fn replicas_share_an_accounts_budget() {
    let server = TestServer::start().await;
    let replica = server.replica().await;
    let email = "shared-budget@example.com";
    server.client().sign_up("Owner", email, PASSWORD).await;
    for n in 0..BUDGET {
        let base = if n % 2 == 0 {
            &server.base
        } else {
            &replica.base
        };
        guess(base, email, n).await;
    }
    assert!(
        right_password_refused(&server.base, email).await,
        "{BUDGET} wrong guesses spread over two replicas left the account open on the first"
    );
    assert!(
        right_password_refused(&replica.base, email).await,
        "{BUDGET} wrong guesses spread over two replicas left the account open on the second"
    );
}

#[tokio::test]
async fn a_restart_does_not_refill_an_accounts_budget() {
    let mut server = TestServer::start().await;
    let email = "restart-budget@example.com";
    server.client().sign_up("Owner", email, PASSWORD).await;
    for n in 0..BUDGET {
        guess(&server.base, email, n).await;
    }
    server.restart_with(Default::default()).await;
    assert!(
        right_password_refused(&server.base, email).await,
        "a restart gave the locked account a new budget"
    );
}

#[tokio::test]
async fn the_right_password_still_gives_the_budget_back() {
    let server = TestServer::start().await;
    let replica = server.replica().await;
    let email = "given-back@example.com";
    server.client().sign_up("Owner", email, PASSWORD).await;
    for n in 0..BUDGET - 1 {
        guess(&server.base, email, n).await;
    }
    assert!(!right_password_refused(&replica.base, email).await);
    for n in 0..BUDGET - 1 {
        guess(&replica.base, email, n).await;
    }
    assert!(
        !right_password_refused(&server.base, email).await,
        "a sign-in on one replica did not give the budget back on the other"
    );
}

/// Past the lock a locked account takes one attempt, and a wrong one locks it again; the right
/// one opens it.
#[tokio::test]
async fn past_the_lock_one_attempt_at_a_time() {
    let server = TestServer::start().await;
    let email = "one-at-a-time@example.com";
    server.client().sign_up("Owner", email, PASSWORD).await;
    for n in 0..BUDGET {
        guess(&server.base, email, n).await;
    }
    let lock_passes = || {
        server.psql(&format!(
            r#"update "password_budget" set "last_attempt_at" = "last_attempt_at" - interval '{} seconds'"#,
            stackr_auth::account_throttle::LOCK.as_secs()
        ))
    };
    lock_passes();
    guess(&server.base, email, BUDGET).await;
    assert!(
        right_password_refused(&server.base, email).await,
        "a second attempt in a row past the lock was taken"
    );
    lock_passes();
    assert!(!right_password_refused(&server.base, email).await);
}
