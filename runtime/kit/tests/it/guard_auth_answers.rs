//! The guard takes nothing from auth at face value: a redirect is not an answer (it is never
//! followed), and a session past its `expiresAt` is refused even when auth (or the guard's own
//! cache) vouches for it.

use crate::kit_support;

use std::time::{Duration, Instant};

use kit_support::{Answer, Stack, StackOptions};
use stackr_kit::Flavor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_from_auth_is_not_followed_and_fails_closed() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    let alice = stack.sign_up("alice").await;
    stack.proxy.answer(Answer::RedirectToAuth);
    let (status, body) = stack.get("/me", &[("cookie", &alice.cookie)]).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "AUTH_UNAVAILABLE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_auth_vouches_for_is_refused() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    let alice = stack.sign_up("alice").await;
    stack.proxy.answer(Answer::SessionExpiringAt(
        chrono::Utc::now() - chrono::Duration::minutes(1),
    ));
    let (status, body) = stack.get("/me", &[("cookie", &alice.cookie)]).await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_session_is_refused_once_it_expires() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard).cache_ttl_ms(60_000)).await;
    let alice = stack.sign_up("alice").await;
    let expiry = Duration::from_secs(2);
    let expires_at = chrono::Utc::now() + chrono::Duration::from_std(expiry).unwrap();
    stack.proxy.answer(Answer::SessionExpiringAt(expires_at));
    assert_eq!(stack.get("/me", &[("cookie", &alice.cookie)]).await.0, 200);
    // From now on auth (through the proxy) keeps vouching for the session with that expiry.
    let deadline = Instant::now() + expiry + Duration::from_secs(20);
    loop {
        let sent = chrono::Utc::now();
        let (status, _) = stack.get("/me", &[("cookie", &alice.cookie)]).await;
        if sent > expires_at {
            assert_eq!(status, 401, "answered {status} after the session expired");
            return;
        }
        if chrono::Utc::now() < expires_at {
            assert_eq!(status, 200, "refused before the session expired");
        }
        assert!(Instant::now() < deadline, "the session never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
