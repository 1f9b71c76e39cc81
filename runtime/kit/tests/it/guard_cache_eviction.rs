//! The guard's session cache is bounded; one signed-in client must not be able to fill it and push
//! other users' entries out (each of their requests would then go to auth). A guard with a small
//! cache in front of the real auth (through the counting proxy): one user's request is cached,
//! then an attacker floods it with more requests than the cache has room for, and the first
//! user's next request is still answered from the cache.

use crate::kit_support;

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use kit_support::{Stack, StackOptions};
use stackr_kit::{AuthClient, Flavor, Guard};

/// The guard's cache, small so that a flood is cheap to send.
const CAPACITY: usize = 16;
/// Requests in each flood: several times what the cache holds.
const FLOOD: usize = 4 * CAPACITY;
const GET_SESSION: &str = "/api/auth/get-session";

/// A guard of its own (cache of [`CAPACITY`], a TTL far longer than the test) asking the stack's
/// auth through its counting proxy.
fn small_cache_guard(stack: &Stack) -> Guard {
    let auth = AuthClient::new(&stack.proxy.url.parse().unwrap(), "core", None);
    Guard::builder(Flavor::Standard, auth)
        .session_cache_ttl(Duration::from_secs(600))
        .session_cache_capacity(CAPACITY)
        .build()
        .unwrap()
}

fn with_cookie(cookie: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("cookie", HeaderValue::from_str(cookie).unwrap());
    headers
}

/// The user id the guard admits `cookie` as, or why not.
async fn admitted_as(guard: &Guard, cookie: &str) -> Result<String, String> {
    guard
        .authenticate(&with_cookie(cookie))
        .await
        .map(|user| user.user().id.clone())
        .map_err(|refused| format!("{refused:?}"))
}

/// What a signed-in attacker can send with its one valid session cookie and no other credential:
/// other cookies beside it (any number, any names), in any order and spacing, a second cookie of
/// the session's name after it (auth reads the first), the cookie's value quoted or
/// percent-encoded differently. Auth reads the same session from every one of them.
fn same_session_variants(cookie: &str, n: usize) -> Vec<String> {
    let (name, value) = cookie.split_once('=').unwrap();
    let raw = value
        .replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=");
    (0..n)
        .map(|i| match i % 6 {
            0 => format!("{cookie}; junk{i}=x"),
            1 => format!("junk{i}=x;{cookie}"),
            2 => format!("  {cookie} ;  junk{i}=y  "),
            3 => format!("{cookie}; {name}=junk{i}.sig"),
            4 => format!("junk{i}=\"z\"; {name}=\"{value}\""),
            _ => format!("{name}={raw}; theme{i}=dark"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_sent_with_endless_other_cookies_does_not_push_other_users_out() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    let guard = small_cache_guard(&stack);
    let alice = stack.sign_up("alice").await;
    let mallory = stack.sign_up("mallory").await;

    assert_eq!(
        admitted_as(&guard, &alice.cookie).await,
        Ok(alice.user_id.clone())
    );
    let before_flood = stack.proxy.count(GET_SESSION);
    for cookie in same_session_variants(&mallory.cookie, FLOOD) {
        assert_eq!(
            admitted_as(&guard, &cookie).await,
            Ok(mallory.user_id.clone()),
            "{cookie}"
        );
    }
    let flood_cost = stack.proxy.count(GET_SESSION) - before_flood;

    let before = stack.proxy.count(GET_SESSION);
    assert_eq!(
        admitted_as(&guard, &alice.cookie).await,
        Ok(alice.user_id.clone())
    );
    assert_eq!(
        stack.proxy.count(GET_SESSION),
        before,
        "alice's entry was pushed out: auth was asked again"
    );
    assert_eq!(
        flood_cost, 1,
        "auth asked {flood_cost} times for {FLOOD} requests carrying one session"
    );
}

/// Cookies carrying no valid session (made-up tokens, tampered signatures) are refused and never
/// cached: however many, they leave the cached sessions where they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_sessions_do_not_push_other_users_out() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    let guard = small_cache_guard(&stack);
    let alice = stack.sign_up("alice").await;
    let mallory = stack.sign_up("mallory").await;

    assert_eq!(
        admitted_as(&guard, &alice.cookie).await,
        Ok(alice.user_id.clone())
    );
    let tampered = mallory.tampered_cookie();
    for i in 0..FLOOD {
        let cookie = if i % 2 == 0 {
            format!("better-auth.session_token=made-up-{i}.sig")
        } else {
            format!("{tampered}; n={i}")
        };
        assert_eq!(
            admitted_as(&guard, &cookie).await,
            Err("Unauthenticated".into()),
            "{cookie}"
        );
    }
    let before = stack.proxy.count(GET_SESSION);
    assert_eq!(
        admitted_as(&guard, &alice.cookie).await,
        Ok(alice.user_id.clone())
    );
    assert_eq!(
        stack.proxy.count(GET_SESSION),
        before,
        "auth was asked again"
    );
}
