//! A user's device sessions are bounded: any signed-in user could otherwise grow the service's
//! table (and every listing of it) without end. What can no longer be used (expired, revoked)
//! is deleted when the user creates another.

use crate::kit_support;

use kit_support::{Stack, StackOptions};
use stackr_kit::device::MAX_LIVE_PER_USER;
use stackr_kit::Flavor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_holds_a_bounded_number_of_device_sessions() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    for _ in 0..MAX_LIVE_PER_USER {
        stack.create_device_session(&alice).await;
    }
    let headers = [
        ("cookie", alice.cookie.as_str()),
        ("origin", stack.auth.url.as_str()),
    ];
    let create = || stack.request(reqwest::Method::POST, "/device-sessions", &headers);
    let (status, body) = create().await;
    assert_eq!(status, 409, "one more than the limit: {body}");
    assert_eq!(body["code"], "TOO_MANY_DEVICE_SESSIONS", "{body}");
    let count = |sql: &str| {
        stack
            .service_sql(&format!(
                "SELECT count(*) FROM stackr_device_session WHERE user_id = '{}'{sql}",
                alice.user_id
            ))
            .trim()
            .to_owned()
    };
    assert_eq!(count(""), MAX_LIVE_PER_USER.to_string());

    // One revoked and one expired: both make room, and the next creation deletes them.
    stack.service_sql(&format!(
        "UPDATE stackr_device_session SET revoked_at = now() WHERE id IN \
         (SELECT id FROM stackr_device_session WHERE user_id = '{0}' ORDER BY created_at LIMIT 1); \
         UPDATE stackr_device_session SET expires_at = now() - interval '1 second' WHERE id IN \
         (SELECT id FROM stackr_device_session WHERE user_id = '{0}' AND revoked_at IS NULL ORDER BY created_at LIMIT 1)",
        alice.user_id
    ));
    let (status, body) = create().await;
    assert_eq!(status, 201, "room again: {body}");
    assert_eq!(
        count(""),
        (MAX_LIVE_PER_USER - 1).to_string(),
        "the dead rows are gone"
    );
}

/// A label PostgreSQL cannot store (a NUL character) is the caller's mistake, refused with 400
/// like a label too long; it failed the insert, answered 503 and logged an error per request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_with_a_nul_character_is_a_bad_request() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    let create = |label: &str| {
        reqwest::Client::new()
            .post(format!("{}/device-sessions", stack.service_url))
            .header("cookie", &alice.cookie)
            .header("origin", stack.trusted_origin())
            .json(&serde_json::json!({ "label": label }))
            .send()
    };
    let r = create("kiosk\u{0}").await.unwrap();
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (400, Some("BAD_REQUEST")),
        "{body}"
    );
    let r = create("kiosk").await.unwrap();
    assert_eq!(r.status(), 201, "a plain label still works");
}

/// A user already at the limit is refused before auth is asked anything more than the guard's
/// own check of the cookie: the owner's epoch and the fresh cookie check (two calls to auth) are
/// only of use to a device session that will be created, and any signed-in user can repeat a
/// refused creation as often as they like.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_at_the_limit_is_refused_without_asking_auth_again() {
    const GET_SESSION: &str = "/api/auth/get-session";
    const USER_STATUS: &str = "/api/auth/user-status";
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    for _ in 0..MAX_LIVE_PER_USER {
        stack.create_device_session(&alice).await;
    }
    let calls = || {
        (
            stack.proxy.count(GET_SESSION),
            stack.proxy.count(USER_STATUS),
        )
    };
    let before = calls();
    let (status, body) = stack
        .request(
            reqwest::Method::POST,
            "/device-sessions",
            &[
                ("cookie", alice.cookie.as_str()),
                ("origin", stack.trusted_origin()),
            ],
        )
        .await;
    assert_eq!(status, 409, "one more than the limit: {body}");
    let after = calls();
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (1, 0),
        "(get-session, user-status) calls for a refused creation: the guard's one check only"
    );
}
