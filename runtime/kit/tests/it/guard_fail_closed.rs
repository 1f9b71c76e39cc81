//! When auth cannot vouch for a session, the guard refuses (503), never lets the request through.

use crate::kit_support;

use kit_support::{Answer, Stack, StackOptions};
use stackr_kit::Flavor;
use stackr_testkit::CapturedLogs;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_down_is_503_and_recovers_nothing_by_itself() {
    let mut stack = Stack::start(StackOptions::new(Flavor::Standard).cache_ttl_ms(0)).await;
    let alice = stack.sign_up("alice").await;
    assert_eq!(stack.get("/me", &[("cookie", &alice.cookie)]).await.0, 200);

    stack.auth.stop();
    let (status, body) = stack.get("/me", &[("cookie", &alice.cookie)]).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "AUTH_UNAVAILABLE");
    // Still no way in without a cookie either (401 before auth is even asked).
    assert_eq!(stack.get("/me", &[]).await.0, 401);
    // Unprotected routes keep working.
    assert_eq!(stack.get("/public", &[]).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_from_auth_is_503() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard).cache_ttl_ms(0)).await;
    let alice = stack.sign_up("alice").await;
    stack.proxy.answer_garbage(true);
    let (status, body) = stack.get("/me", &[("cookie", &alice.cookie)]).await;
    assert_eq!(status, 503, "{body}");
    stack.proxy.answer_garbage(false);
    assert_eq!(stack.get("/me", &[("cookie", &alice.cookie)]).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_auth_url_is_503() {
    // Nothing listens on this port: connection refused, not a verdict.
    let stack = Stack::start(StackOptions::new(Flavor::Standard).cache_ttl_ms(0)).await;
    let alice = stack.sign_up("alice").await;
    let dead = format!("http://127.0.0.1:{}", stackr_testkit::free_port());
    let client = stackr_kit::AuthClient::new(&url::Url::parse(&dead).unwrap(), "core", None);
    let err = client.get_session(&alice.cookie).await.unwrap_err();
    assert!(
        matches!(err, stackr_kit::auth::AuthError::Unreachable(_)),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_session_fails_closed_when_auth_cannot_vouch_for_its_owner() {
    let mut stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    let token = stack.create_device_session(&alice).await;
    assert_eq!(stack.device_status(&token).await, 200);

    stack.auth.stop();
    let (status, body) = stack
        .get("/flex/me", &[("x-device-session-token", &token)])
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "AUTH_UNAVAILABLE");
}

/// Auth failing is logged when it starts and when it ends, not once per refused request: under
/// traffic a line per request buries everything else, and none of them is an ERROR (the
/// service is working as designed, failing closed).
#[tokio::test]
async fn auth_failing_is_logged_when_it_starts_and_when_it_ends() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard).cache_ttl_ms(0)).await;
    let alice = stack.sign_up("alice").await;
    let cookie = [("cookie", alice.cookie.as_str())];
    let logs = CapturedLogs::start();
    let count = |text: &str| {
        logs.alarming()
            .iter()
            .filter(|line| line.contains(text))
            .count()
    };

    stack.proxy.answer_garbage(true);
    for _ in 0..5 {
        assert_eq!(stack.get("/me", &cookie).await.0, 503);
    }
    assert_eq!(
        count("auth's get-session failing"),
        1,
        "{:#?}",
        logs.lines()
    );
    assert_eq!(count(" ERROR "), 0, "{:#?}", logs.lines());

    stack.proxy.answer_garbage(false);
    tokio::time::sleep(kit_support::OUTAGE_QUIET).await;
    for _ in 0..2 {
        assert_eq!(stack.get("/me", &cookie).await.0, 200);
    }
    let back = logs
        .lines_containing("auth's get-session answering again")
        .len();
    assert_eq!(back, 1, "{:#?}", logs.lines());

    stack.proxy.answer_garbage(true);
    assert_eq!(stack.get("/me", &cookie).await.0, 503);
    assert_eq!(
        count("auth's get-session failing"),
        2,
        "{:#?}",
        logs.lines()
    );
}

/// Auth failing to say whether a device session's owner still stands is logged as its failing
/// get-session is, when it starts and when it ends: a device retrying during an outage must not
/// write a line per refused request.
#[tokio::test]
async fn auth_failing_for_device_owners_is_logged_when_it_starts_and_when_it_ends() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible).cache_ttl_ms(0)).await;
    let alice = stack.sign_up("alice").await;
    let token = stack.create_device_session(&alice).await;
    let logs = CapturedLogs::start();

    stack.proxy.answer_garbage(true);
    for _ in 0..5 {
        assert_eq!(stack.device_status(&token).await, 503);
    }
    assert_said_once(&logs, "auth's user-status failing");

    stack.proxy.answer_garbage(false);
    tokio::time::sleep(kit_support::OUTAGE_QUIET).await;
    for _ in 0..2 {
        assert_eq!(stack.device_status(&token).await, 200);
    }
    let back = logs
        .lines_containing("auth's user-status answering again")
        .len();
    assert_eq!(back, 1, "{:#?}", logs.lines());
}

/// The service's database failing to look device sessions up is logged when it starts, not at
/// every refused request: any anonymous client can present a made-up device token as often as
/// it likes.
#[tokio::test]
async fn device_lookups_failing_are_logged_when_they_start() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    stack.service_sql("ALTER TABLE stackr_device_session RENAME TO gone");
    let logs = CapturedLogs::start();
    for _ in 0..5 {
        assert_eq!(stack.device_status("sds_made-up").await, 503);
    }
    assert_said_once(&logs, "device session lookup failing");
}

/// Auth failing the provision call (a user's first call, refused while auth's database is down,
/// or at every call while auth refuses the service's credential) is logged when it starts, not
/// at every refused request: every user's call would write a line.
#[tokio::test]
async fn provisioning_failing_is_logged_when_it_starts() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    stack.proxy.answer(Answer::ProvisionUnavailable);
    let logs = CapturedLogs::start();
    for _ in 0..5 {
        assert_eq!(stack.get("/me", &[("cookie", &alice.cookie)]).await.0, 503);
    }
    assert_said_once(&logs, "provisioning failing");
    stack.proxy.answer(Answer::Relay);
    assert_eq!(stack.get("/me", &[("cookie", &alice.cookie)]).await.0, 200);
}

/// The only alarming line in `logs` but the access log's line per refused request says `what`.
fn assert_said_once(logs: &CapturedLogs, what: &str) {
    let alarming: Vec<String> = logs
        .alarming()
        .into_iter()
        .filter(|line| !line.contains("finished processing request"))
        .collect();
    assert_eq!(alarming.len(), 1, "{alarming:#?}");
    assert!(alarming[0].contains(what), "{alarming:#?}");
}
