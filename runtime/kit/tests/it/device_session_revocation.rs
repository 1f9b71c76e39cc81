//! A device session is never more powerful than the user session it came from: signing out
//! everywhere, a ban, a password reset, change-password revoking other sessions and deleting the
//! user all end the user's device sessions at a flexible service, within the guard's cache TTL.

use crate::kit_support;

use std::time::Duration;

use kit_support::{SignedIn, Stack, StackOptions};
use serde_json::json;
use stackr_kit::Flavor;

/// With the cache off the refusal is immediate; the wait only absorbs a loaded machine.
const NO_CACHE_DEADLINE: Duration = Duration::from_secs(10);

/// A flexible service without caches, alice, and a device session she created that works.
async fn alice_with_device() -> (Stack, SignedIn, String) {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    let token = stack.create_device_session(&alice).await;
    assert_eq!(stack.device_status(&token).await, 200);
    (stack, alice, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_sessions_ends_device_sessions() {
    let (stack, alice, token) = alice_with_device().await;
    stack.revoke_sessions(&alice).await;
    stack.wait_device_refused(&token, NO_CACHE_DEADLINE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ban_ends_device_sessions_and_unban_does_not_revive_them() {
    let (stack, alice, token) = alice_with_device().await;
    stack.ban(&alice).await;
    stack.wait_device_refused(&token, NO_CACHE_DEADLINE).await;
    stack.auth_sql(&format!(
        "UPDATE \"user\" SET banned = false WHERE id = '{}'",
        alice.user_id
    ));
    assert_eq!(stack.device_status(&token).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_ends_device_sessions() {
    let (stack, alice, token) = alice_with_device().await;
    stack.reset_password(&alice).await;
    stack.wait_device_refused(&token, NO_CACHE_DEADLINE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_password_revoking_other_sessions_ends_device_sessions() {
    let (stack, alice, token) = alice_with_device().await;
    let (status, body) = stack
        .browser
        .post(
            "/api/auth/change-password",
            Some(&alice.cookie),
            json!({
                "currentPassword": kit_support::browser::PASSWORD,
                "newPassword": "another battery staple",
                "revokeOtherSessions": true,
            }),
        )
        .await;
    assert_eq!(status, 200, "change-password: {body}");
    stack.wait_device_refused(&token, NO_CACHE_DEADLINE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_user_ends_device_sessions() {
    let (stack, alice, token) = alice_with_device().await;
    stack.delete_user(&alice);
    stack.wait_device_refused(&token, NO_CACHE_DEADLINE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_session_after_revocation_works_and_the_old_one_stays_dead() {
    let (stack, alice, old_token) = alice_with_device().await;
    stack.revoke_sessions(&alice).await;
    stack
        .wait_device_refused(&old_token, NO_CACHE_DEADLINE)
        .await;
    let again = stack.browser.sign_in(&alice.email).await;
    let new_token = stack.create_device_session(&again).await;
    assert_eq!(stack.device_status(&new_token).await, 200);
    assert_eq!(stack.device_status(&old_token).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_cache_on_revocation_lands_within_the_ttl() {
    let ttl = Duration::from_millis(1500);
    let stack =
        Stack::start(StackOptions::new(Flavor::Flexible).cache_ttl_ms(ttl.as_millis() as u64))
            .await;
    let alice = stack.sign_up("alice").await;
    let token = stack.create_device_session(&alice).await;
    assert_eq!(stack.device_status(&token).await, 200);
    stack.revoke_sessions(&alice).await;
    let revoked = std::time::Instant::now();
    stack.wait_device_refused(&token, ttl * 10).await;
    // The owner's status is cached for at most the TTL; polling and a loaded machine add slack.
    assert!(
        revoked.elapsed() < ttl + Duration::from_secs(5),
        "refused only after {:?}",
        revoked.elapsed()
    );
}

/// An admin acting as a user (a one-hour impersonation that ends when the admin stops it) cannot
/// make a device session for that user: it would live on for weeks after the impersonation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impersonation_cannot_make_a_device_session() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let bob = stack.sign_up("bob").await;
    let alice = stack.sign_up("alice").await;
    stack.set_role(&alice, "admin");
    let auth = &stack.auth.url;
    let impersonation = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{auth}/api/auth/admin/impersonate-user"))
        .header("origin", auth)
        .header("cookie", &alice.cookie)
        .json(&json!({"userId": bob.user_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(impersonation.status(), 200);
    // Not `browser::cookie_set`: the answer first clears the admin's own session cookie.
    let cookie = impersonation
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .find(|pair| pair.starts_with("better-auth.session_token=") && !pair.ends_with('='))
        .expect("the impersonation's session cookie")
        .to_owned();
    let (status, body) = stack
        .request(
            reqwest::Method::POST,
            "/device-sessions",
            &[("cookie", &cookie), ("origin", auth)],
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "IMPERSONATION", "{body}");
    // Bob himself still can.
    stack.create_device_session(&bob).await;
}

/// A service reaching auth through a replica whose get-session cache still holds a session
/// another replica just ended (signing out everywhere): the stolen cookie still passes the
/// guard there for the cache's lifetime, but it cannot make a device session, which would carry
/// the new credential epoch and outlive the revocation by its 30 days. The creating cookie is
/// checked with auth past auth's cache too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_ended_on_another_auth_replica_makes_no_device_session() {
    // Long enough that the replica's cache outlasts the test: the cookie passes the guard.
    let replica_cache = Duration::from_secs(60);
    let options = |auth_cache| {
        StackOptions::new(Flavor::Flexible)
            .cache_ttl_ms(0)
            .auth_session_cache(auth_cache)
    };
    let mut stack = Stack::start(options(Duration::from_millis(1000))).await;
    let replica = stack.start_auth_replica(replica_cache);
    let staff = stack
        .add_service("staff", options(replica_cache).auth_url(&replica.url))
        .await;
    let alice = stack.sign_up("alice").await;
    // Provisioning at staff clears the replica's cache; the next request fills it.
    for _ in 0..2 {
        assert_eq!(stack.me_status_at(&staff, &alice).await, 200);
    }

    stack.revoke_sessions(&alice).await;
    assert_eq!(
        stack.me_status_at(&staff, &alice).await,
        200,
        "the replica still answers from its cache"
    );
    let (status, created) = stack
        .request_at(
            &staff,
            reqwest::Method::POST,
            "/device-sessions",
            &[
                ("cookie", &alice.cookie),
                ("origin", stack.trusted_origin()),
            ],
        )
        .await;
    assert_eq!(
        status.as_u16(),
        401,
        "a device session made from an ended session: {created}"
    );
}
