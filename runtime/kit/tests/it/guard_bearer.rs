//! Apps that keep no cookies send auth's `set-auth-token` value as `Authorization: Bearer`: the
//! guard forwards it to auth like a cookie, so such a user passes exactly like a browser user,
//! is provisioned on the first call, and is refused once the session ends (sign-out, ban)
//! within the guard's cache TTL. Forged, tampered or smuggling tokens never pass.

use crate::kit_support;

use std::time::Duration;

use kit_support::{Stack, StackOptions};
use stackr_kit::Flavor;

const TTL: Duration = Duration::from_millis(1000);

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_user_passes_the_guard_with_a_bearer_token_until_the_session_ends() {
    let stack =
        Stack::start(StackOptions::new(Flavor::Standard).cache_ttl_ms(TTL.as_millis() as u64))
            .await;
    let alice = stack.sign_up("alice").await;
    let token = stack.browser.app_sign_in(&alice.email).await;
    let (status, body) = stack
        .get("/me", &[("authorization", &bearer(&token))])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], alice.user_id.as_str());

    // The browser's cookie still works beside it, and a bearer token wins over a cookie.
    let bob = stack.sign_up("bob").await;
    let (status, body) = stack
        .get(
            "/me",
            &[("cookie", &bob.cookie), ("authorization", &bearer(&token))],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["id"].as_str()),
        (200, Some(alice.user_id.as_str()))
    );

    stack.browser.app_sign_out(&token).await;
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    let (status, _) = stack
        .get("/me", &[("authorization", &bearer(&token))])
        .await;
    assert_eq!(
        status, 401,
        "a signed-out bearer token is refused after the TTL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_app_users_bearer_token_is_refused_within_the_ttl() {
    let stack =
        Stack::start(StackOptions::new(Flavor::Standard).cache_ttl_ms(TTL.as_millis() as u64))
            .await;
    let dave = stack.sign_up("dave").await;
    let token = stack.browser.app_sign_in(&dave.email).await;
    assert_eq!(
        stack
            .get("/me", &[("authorization", &bearer(&token))])
            .await
            .0,
        200
    );
    stack.ban(&dave).await;
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    assert_eq!(
        stack
            .get("/me", &[("authorization", &bearer(&token))])
            .await
            .0,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tampered_and_smuggling_bearer_tokens_are_refused() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    let alice = stack.sign_up("alice").await;
    let token = stack.browser.app_sign_in(&alice.email).await;
    let (raw, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{raw}.{flipped}{}", &signature[1..]);
    let smuggling = format!("x; better-auth.session_token={token}");
    for (what, value) in [
        ("tampered signature", bearer(&tampered)),
        ("cookie pair smuggled in", bearer(&smuggling)),
        ("another scheme", format!("Basic {token}")),
        ("empty", "Bearer ".to_owned()),
        ("a made-up token", bearer("made-up.c2lnbmF0dXJl")),
        // Percent-encoded twice over (both cookie names), more than auth takes in headers.
        (
            "an over-long token",
            bearer(&format!("a.{}", "+".repeat(20_000))),
        ),
    ] {
        let (status, body) = stack.get("/me", &[("authorization", &value)]).await;
        assert_eq!(status, 401, "{what}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flexible_service_provisions_an_app_user_on_the_first_bearer_call() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let erin = stack.sign_up("erin").await;
    let token = stack.browser.app_sign_in(&erin.email).await;
    let (status, body) = stack
        .get("/flex/me", &[("authorization", &bearer(&token))])
        .await;
    assert_eq!(status, 200, "{body}");
    let user = stack.browser.session_user(&erin).await;
    assert_eq!(user["hasCoreAccount"], true, "{user}");
}
