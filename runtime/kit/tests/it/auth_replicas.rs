//! Several auth replicas on one database, as a deployment placing more than one auth API runs
//! them (behind a load balancer, each with its own get-session cache): a session ended or a user
//! banned through one replica is refused by the guard of a service that reaches auth through
//! another, within the two caches' lifetimes (the replica's get-session cache, then the guard's).
//! Nothing tells the other replica: only its cache's expiry bounds how long it answers from it.

use crate::kit_support;

use std::time::{Duration, Instant};

use kit_support::{SignedIn, Stack, StackOptions};
use stackr_kit::Flavor;

/// The guards' cache TTL (`SESSION_CACHE_TTL_MS`), as scaffolded services run.
const GUARD_TTL: Duration = Duration::from_millis(1000);
/// Each auth replica's get-session cache (`AUTH_SESSION_CACHE_MS`), its default.
const AUTH_CACHE: Duration = Duration::from_millis(1000);
/// Room for a loaded machine on top of the two lifetimes.
const SLACK: Duration = Duration::from_millis(1500);

/// Core reaches the stack's auth; staff reaches a second replica on the same database. Both
/// services, and both replicas, have seen `who` before the change: every cache is warm.
async fn two_replicas() -> (Stack, kit_support::AuthServer, String) {
    let options = || {
        StackOptions::new(Flavor::Standard)
            .cache_ttl_ms(GUARD_TTL.as_millis() as u64)
            .auth_session_cache(AUTH_CACHE)
    };
    let mut stack = Stack::start(options()).await;
    let replica = stack.start_auth_replica(AUTH_CACHE);
    let staff = stack
        .add_service("staff", options().auth_url(&replica.url))
        .await;
    (stack, replica, staff)
}

/// How long after `acted` the service at `base` first answers `expected` for `who`; fails
/// when that takes longer than both caches' lifetimes and the slack.
async fn answers_within(stack: &Stack, base: &str, who: &SignedIn, acted: Instant, expected: u16) {
    let deadline = acted + AUTH_CACHE + GUARD_TTL + SLACK;
    loop {
        let status = stack.me_status_at(base, who).await;
        if status == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{base} still answers {status} for {} {:?} after the change (expected {expected})",
            who.email,
            acted.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_at_one_replica_is_refused_behind_the_other() {
    let (stack, _replica, staff) = two_replicas().await;
    let alice = stack.sign_up("alice").await;
    let bob = stack.sign_up("bob").await;
    for who in [&alice, &bob] {
        assert_eq!(stack.me_status_at(&stack.service_url, who).await, 200);
        assert_eq!(stack.me_status_at(&staff, who).await, 200);
    }

    stack.browser.sign_out(&alice).await;
    let acted = Instant::now();
    answers_within(&stack, &staff, &alice, acted, 401).await;
    answers_within(&stack, &stack.service_url, &alice, acted, 401).await;
    assert_eq!(
        stack.me_status_at(&staff, &bob).await,
        200,
        "bob's session is untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ban_at_one_replica_is_refused_behind_the_other() {
    let (stack, replica, staff) = two_replicas().await;
    let admin = stack.sign_up("root").await;
    stack.set_role(&admin, "admin");
    // A new session: the role is read when the session is.
    let admin = stack.browser.sign_in(&admin.email).await;
    let alice = stack.sign_up("alice").await;
    assert_eq!(stack.me_status_at(&staff, &alice).await, 200);
    assert_eq!(
        kit_support::Browser::new(&replica.url)
            .session(&alice)
            .await["user"]["id"],
        alice.user_id.as_str(),
        "the replica serves alice's session"
    );

    let (status, body) = stack
        .browser
        .post(
            "/api/auth/admin/ban-user",
            Some(&admin.cookie),
            serde_json::json!({ "userId": alice.user_id }),
        )
        .await;
    assert_eq!(status, 200, "ban-user: {body}");
    let acted = Instant::now();
    answers_within(&stack, &staff, &alice, acted, 401).await;
}
