//! What an anonymous client can make auth write to its log: a request refused for the client's
//! own doing (over a rate limit, a made-up service credential, a callback without its flow) is
//! answered, not logged at the default level, so a flood of them cannot fill the journal or bury
//! the lines an operator needs.

use serde_json::json;
use stackr_testkit::CapturedLogs;

use crate::common::{Options, TestServer, APP_ORIGIN};

/// Refused requests sent per case: one line each would be plain to see.
const FLOOD: usize = 20;

/// The lines `flood` made the server log, at its default level.
async fn logged_by<F: std::future::Future<Output = ()>>(flood: F) -> Vec<String> {
    let logs = CapturedLogs::start();
    flood.await;
    logs.lines()
}

#[tokio::test]
async fn requests_over_a_rate_limit_are_refused_without_a_line_each() {
    let server = TestServer::start_with(Options {
        rate_limits: true,
        ..Options::default()
    })
    .await;
    let mut client = server.client();
    let lines = logged_by(async {
        for _ in 0..FLOOD {
            client
                .post(
                    "/api/auth/sign-in/email",
                    json!({"email": "nobody@example.com", "password": "not-the-password-1"}),
                )
                .await;
        }
    })
    .await;
    let last = client
        .post(
            "/api/auth/sign-in/email",
            json!({"email": "nobody@example.com", "password": "not-the-password-1"}),
        )
        .await;
    assert_eq!(last.status, 429, "the flood went over the limit");
    assert!(lines.is_empty(), "{lines:#?}");
}

#[tokio::test]
async fn service_calls_with_a_wrong_credential_are_refused_without_a_line_each() {
    let server = TestServer::start_with(Options {
        provision: vec![("notes", "notes-credential-0123456789abcdef")],
        ..Options::default()
    })
    .await;
    let client = server.client();
    let lines = logged_by(async {
        for _ in 0..FLOOD {
            let status = client
                .raw()
                .post(client.url("/api/auth/provision"))
                .header("x-stackr-service", "notes")
                .header("authorization", "Bearer a-guess")
                .header("origin", APP_ORIGIN)
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 403);
        }
    })
    .await;
    assert!(lines.is_empty(), "{lines:#?}");
}

#[tokio::test]
async fn oauth_callbacks_without_their_flow_are_refused_without_a_line_each() {
    let server = TestServer::start().await;
    let mut client = server.client();
    let lines = logged_by(async {
        for state in ["", "?state=made-up"].repeat(FLOOD / 2) {
            let r = client
                .get(&format!("/api/auth/callback/google{state}"))
                .await;
            assert_eq!(r.status, 302, "{}", r.text);
        }
    })
    .await;
    assert!(lines.is_empty(), "{lines:#?}");
}

/// PostgreSQL's text holds no NUL character: one in a URL (`%00`), reaching a query as a reset
/// link's token, an OAuth state or an account id, is refused as one in a body is, not answered
/// as a server error with an error in the log.
#[tokio::test]
async fn a_nul_character_in_a_url_is_refused_without_a_line() {
    let server = TestServer::start().await;
    let mut client = server.client();
    client
        .sign_up("Nul", "nul@example.com", "password-nul-1")
        .await;
    let lines = logged_by(async {
        for path in [
            "/api/auth/reset-password/%00?callbackURL=http://localhost:3000/reset",
            "/api/auth/callback/google?state=%00",
            "/api/auth/account-info?accountId=a%00b",
        ] {
            let r = client.get(path).await;
            assert_eq!(
                (r.status, r.json()["code"].as_str()),
                (400, Some("VALIDATION_ERROR")),
                "{path}: {}",
                r.text
            );
        }
    })
    .await;
    assert!(lines.is_empty(), "{lines:#?}");
}
