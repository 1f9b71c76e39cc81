//! Auth's answers about a user (their sessions with each session's token, their accounts, an
//! admin's list of users) are marked `Cache-Control: no-store`, as get-session's are: a shared
//! cache in front of auth keys what it keeps by URL, not by cookie, and one allowed to store
//! answers without a rule would hand them to the next caller of the same URL.

use crate::common;

use common::*;

#[tokio::test]
async fn answers_about_a_user_are_not_stored() {
    let server = TestServer::start().await;
    let mut c = server.client();
    c.sign_up("Alice", "alice@example.com", "correct horse battery")
        .await;
    for path in [
        "/api/auth/list-sessions",
        "/api/auth/list-accounts",
        "/api/auth/get-session",
        "/api/auth/no-such-route",
    ] {
        let r = c.get(path).await;
        assert_eq!(
            r.headers.get("cache-control").map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{path} answered {} without no-store",
            r.status
        );
    }
}
