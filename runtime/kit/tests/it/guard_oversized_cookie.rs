//! A cookie header too long for auth to read, once the guard adds its own headers to it, is the
//! client's doing: refused with 401 as no session, never taken for auth being down (503 and a
//! warning and an error in the log, per request, at any anonymous client's will).

use crate::kit_support::{Stack, StackOptions};
use stackr_contract::http_server::MAX_HEADER_BUFFER;
use stackr_kit::Flavor;
use stackr_testkit::CapturedLogs;

#[tokio::test]
async fn a_cookie_auth_cannot_read_is_no_session_and_no_line_in_the_log() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    let http = reqwest::Client::new();
    let logs = CapturedLogs::start();
    // Every size up to what the service itself reads: somewhere in there the request forwarded
    // to auth, with the service's credential and name added, passes what auth reads.
    for size in (MAX_HEADER_BUFFER - 1000..MAX_HEADER_BUFFER).step_by(20) {
        let cookie = format!("better-auth.session_token={}", "a".repeat(size));
        let status = http
            .get(format!("{}/me", stack.service_url))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .status();
        assert!(
            status == 401 || status == 431,
            "{size}-byte cookie: {status}"
        );
    }
    let alarming = logs.alarming();
    assert!(alarming.is_empty(), "{alarming:#?}");
}
