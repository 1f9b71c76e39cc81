//! A ban or a session revocation an admin makes on auth's admin dashboard (its form posts, CSRF
//! token and origin included) is refused by every base service's guard once the guard's cache
//! TTL has passed, even though auth's own get-session cache lives far longer: the dashboard's
//! action must drop that cache, as the admin API's does.

use crate::kit_support;

use std::time::{Duration, Instant};

use kit_support::{Dashboard, SignedIn, Stack, StackOptions};
use stackr_kit::Flavor;

/// The guards' cache TTL (`SESSION_CACHE_TTL_MS`).
const GUARD_TTL: Duration = Duration::from_millis(1000);
/// Auth's get-session cache, far longer than the guards' so that a stale entry would show.
const AUTH_CACHE: Duration = Duration::from_secs(60);

/// Two standard services (`core` and `staff`) behind one auth, an admin signed in on the
/// dashboard; the second service's URL.
async fn stack_with_admin() -> (Stack, String, Dashboard) {
    let options = || {
        StackOptions::new(Flavor::Standard)
            .cache_ttl_ms(GUARD_TTL.as_millis() as u64)
            .auth_session_cache(AUTH_CACHE)
    };
    let mut stack = Stack::start(options()).await;
    let staff = stack.add_service("staff", options()).await;
    let admin = stack.sign_up("root").await;
    stack.set_role(&admin, "admin");
    let dashboard = Dashboard::sign_in(&stack.auth.admin_url, &admin).await;
    (stack, staff, dashboard)
}

/// Both services accept `who` now, which also fills both guards' caches and auth's.
async fn accepted_everywhere(stack: &Stack, staff: &str, who: &SignedIn) {
    assert_eq!(stack.me_status_at(&stack.service_url, who).await, 200);
    assert_eq!(stack.me_status_at(staff, who).await, 200);
}

/// Waits out the guards' cache TTL counted from `acted` (every verdict cached before the action
/// has expired by then), then expects both services to answer `expected` for `who`.
async fn after_guard_ttl(
    stack: &Stack,
    staff: &str,
    acted: Instant,
    who: &SignedIn,
    expected: u16,
) {
    tokio::time::sleep_until((acted + GUARD_TTL + Duration::from_millis(50)).into()).await;
    assert_eq!(
        stack.me_status_at(&stack.service_url, who).await,
        expected,
        "core"
    );
    assert_eq!(stack.me_status_at(staff, who).await, expected, "staff");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ban_from_the_dashboard_is_refused_at_every_guard_within_its_ttl() {
    let (stack, staff, dashboard) = stack_with_admin().await;
    let alice = stack.sign_up("alice").await;
    let bob = stack.sign_up("bob").await;
    accepted_everywhere(&stack, &staff, &alice).await;
    accepted_everywhere(&stack, &staff, &bob).await;

    let status = dashboard
        .act(
            &alice.user_id,
            "ban",
            &[("reason", "spam"), ("length", ""), ("confirm", "yes")],
        )
        .await;
    let acted = Instant::now();
    assert_eq!(status, 303, "the dashboard accepts the ban");
    after_guard_ttl(&stack, &staff, acted, &alice, 401).await;
    after_guard_ttl(&stack, &staff, acted, &bob, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_revoked_from_the_dashboard_is_refused_at_every_guard_within_its_ttl() {
    let (stack, staff, dashboard) = stack_with_admin().await;
    let laptop = stack.sign_up("alice").await;
    let phone = stack.browser.sign_in(&laptop.email).await;
    accepted_everywhere(&stack, &staff, &laptop).await;
    accepted_everywhere(&stack, &staff, &phone).await;
    let laptop_session = stack.browser.session(&laptop).await["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let status = dashboard
        .act(
            &laptop.user_id,
            "revoke-session",
            &[("session", &laptop_session)],
        )
        .await;
    let acted = Instant::now();
    assert_eq!(status, 303, "the dashboard ends the session");
    after_guard_ttl(&stack, &staff, acted, &laptop, 401).await;
    after_guard_ttl(&stack, &staff, acted, &phone, 200).await;

    let status = dashboard.act(&laptop.user_id, "revoke-sessions", &[]).await;
    let acted = Instant::now();
    assert_eq!(status, 303, "the dashboard ends every session");
    after_guard_ttl(&stack, &staff, acted, &phone, 401).await;
}
