//! The service deletes the `verification` rows of flows that were started and never finished,
//! once they have expired: anyone can start such flows, so without it the table grows for ever.

use serde_json::json;

use crate::common::TestServer;

async fn request_reset(server: &TestServer, email: &str) {
    let r = server
        .client()
        .post("/api/auth/request-password-reset", json!({"email": email}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn expired_rows_are_deleted_and_live_ones_kept() {
    let server = TestServer::start().await;
    server
        .client()
        .sign_up("Ada", "ada@example.com", "password-123")
        .await;
    // An abandoned reset: its link was never followed, and it has expired.
    request_reset(&server, "ada@example.com").await;
    let abandoned = server.wait_for_link("ada@example.com", 1).await;
    server.psql(
        r#"update "verification" set "expiresAt" = now() - interval '1 minute' where "identifier" like 'reset-password:%'"#,
    );
    request_reset(&server, "ada@example.com").await;
    let live = server.wait_for_link("ada@example.com", 2).await;
    assert_ne!(abandoned, live);

    let deleted = stackr_auth::housekeeping::delete_expired(&server.state)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(
        server.psql(r#"select count(*) from "verification""#),
        "1",
        "the live token's row is kept"
    );
    let token = live.rsplit('/').next().unwrap().split('?').next().unwrap();
    let r = server
        .client()
        .post(
            "/api/auth/reset-password",
            json!({"token": token, "newPassword": "password-456"}),
        )
        .await;
    assert_eq!(r.status, 200, "the live link still works: {}", r.text);
}
