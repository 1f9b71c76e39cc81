//! Flavor `standard` against the real stackr-auth: identity comes from auth's answer to the
//! forwarded cookie, and from nothing else.

use crate::kit_support;

use std::time::Duration;

use kit_support::{Stack, StackOptions};
use stackr_kit::Flavor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_cookie_yields_the_users_identity() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    let alice = stack.sign_up("alice").await;
    let (status, body) = stack.get("/me", &[("cookie", &alice.cookie)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], alice.user_id.as_str());
    assert_eq!(body["email"], "alice@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cookie_tampered_or_unknown_cookie_is_401() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    let alice = stack.sign_up("alice").await;

    let (status, body) = stack.get("/me", &[]).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "UNAUTHORIZED");

    let (status, _) = stack
        .get("/me", &[("cookie", &alice.tampered_cookie())])
        .await;
    assert_eq!(
        status, 401,
        "a cookie whose HMAC does not verify is no session"
    );

    let (status, _) = stack
        .get(
            "/me",
            &[(
                "cookie",
                "better-auth.session_token=notatoken.bm90YXNpZ25hdHVyZQ%3D%3D",
            )],
        )
        .await;
    assert_eq!(status, 401);

    // The untampered cookie still works: the 401s above were about the cookie, not the stack.
    let (status, _) = stack.get("/me", &[("cookie", &alice.cookie)]).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_user_id_header_is_never_identity() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    let alice = stack.sign_up("alice").await;
    let bob = stack.sign_up("bob").await;

    let (status, _) = stack.get("/me", &[("x-user-id", &bob.user_id)]).await;
    assert_eq!(
        status, 401,
        "x-user-id without a session must not authenticate"
    );

    let (status, body) = stack
        .get(
            "/me",
            &[("cookie", &alice.cookie), ("x-user-id", &bob.user_id)],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["id"],
        alice.user_id.as_str(),
        "identity comes from the cookie, not the header"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_cache_a_signed_out_session_is_refused_at_once() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard).cache_ttl_ms(0)).await;
    let alice = stack.sign_up("alice").await;
    assert_eq!(stack.get("/me", &[("cookie", &alice.cookie)]).await.0, 200);
    stack.browser.sign_out(&alice).await;
    assert_eq!(stack.get("/me", &[("cookie", &alice.cookie)]).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_cache_a_signed_out_session_works_only_within_the_ttl() {
    let ttl = Duration::from_millis(1500);
    let stack =
        Stack::start(StackOptions::new(Flavor::Standard).cache_ttl_ms(ttl.as_millis() as u64))
            .await;
    let alice = stack.sign_up("alice").await;
    let calls_before = stack.proxy.count("/api/auth/get-session");
    for _ in 0..5 {
        assert_eq!(stack.get("/me", &[("cookie", &alice.cookie)]).await.0, 200);
    }
    assert_eq!(
        stack.proxy.count("/api/auth/get-session") - calls_before,
        1,
        "five requests within the TTL cost one round trip to auth"
    );
    stack.browser.sign_out(&alice).await;
    // Within the TTL the cached verdict is still used (the documented trade-off)...
    assert_eq!(stack.get("/me", &[("cookie", &alice.cookie)]).await.0, 200);
    // ...and after it the session is refused.
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    assert_eq!(stack.get("/me", &[("cookie", &alice.cookie)]).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprotected_routes_need_no_session() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    let (status, body) = stack.get("/public", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body["public"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middleware_form_protects_a_router_and_asks_auth_once_per_request() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard).cache_ttl_ms(0)).await;
    let alice = stack.sign_up("alice").await;
    assert_eq!(stack.get("/layered/me", &[]).await.0, 401);
    assert_eq!(
        stack
            .get("/layered/extension", &[("x-user-id", &alice.user_id)])
            .await
            .0,
        401
    );

    let before = stack.proxy.count("/api/auth/get-session");
    let (status, body) = stack.get("/layered/me", &[("cookie", &alice.cookie)]).await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], alice.user_id.as_str());
    assert_eq!(
        stack.proxy.count("/api/auth/get-session") - before,
        1,
        "the extractor reuses the middleware's verdict instead of asking auth again"
    );
    let (status, body) = stack
        .get("/layered/extension", &[("cookie", &alice.cookie)])
        .await;
    assert_eq!(
        (status.as_u16(), body["id"].as_str()),
        (200, Some(alice.user_id.as_str()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_requests_with_one_cookie_costs_one_round_trip() {
    let stack = std::sync::Arc::new(
        Stack::start(StackOptions::new(Flavor::Standard).cache_ttl_ms(3000)).await,
    );
    let alice = stack.sign_up("alice").await;
    let before = stack.proxy.count("/api/auth/get-session");
    let burst: Vec<_> = (0..20)
        .map(|_| {
            let (stack, cookie) = (stack.clone(), alice.cookie.clone());
            tokio::spawn(async move { stack.get("/me", &[("cookie", &cookie)]).await.0 })
        })
        .collect();
    for call in burst {
        assert_eq!(call.await.unwrap(), 200);
    }
    assert_eq!(
        stack.proxy.count("/api/auth/get-session") - before,
        1,
        "concurrent misses are coalesced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_without_a_session_cookie_are_refused_without_asking_auth() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    let before = stack.proxy.count("/api/auth/get-session");
    assert_eq!(
        stack
            .get("/me", &[("cookie", "_ga=GA1.2.3; theme=dark")])
            .await
            .0,
        401
    );
    assert_eq!(stack.proxy.count("/api/auth/get-session"), before);
    // With the session cookie among others, the whole header goes to auth and works.
    let alice = stack.sign_up("alice").await;
    let mixed = format!("_ga=GA1.2.3; {}; theme=dark", alice.cookie);
    assert_eq!(stack.get("/me", &[("cookie", &mixed)]).await.0, 200);
}
