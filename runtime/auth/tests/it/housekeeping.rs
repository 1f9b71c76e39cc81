//! The service deletes the `verification` rows of flows that were started and never finished,
//! once they have expired: anyone can start such flows, so without it the table grows for ever.

use serde_json::json;

use crate::common::TestServer;

#[tokio::test]
async fn expired_rows_are_deleted_and_live_ones_kept() {
    let server = TestServer::start().await;
    server
        .client()
        .sign_up("Ada", "ada@example.com", "password-123")
        .await;
    // An abandoned reset: its link was never followed, and it has expired.
    let abandoned = server.reset_token("ada@example.com", 1).await;
    server.psql(
        r#"update "verification" set "expiresAt" = now() - interval '1 minute' where "identifier" like 'reset-password:%'"#,
    );
    let live = server.reset_token("ada@example.com", 2).await;
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
    let r = server
        .client()
        .post(
            "/api/auth/reset-password",
            json!({"token": live, "newPassword": "password-456"}),
        )
        .await;
    assert_eq!(r.status, 200, "the live link still works: {}", r.text);
}

/// A run of failed password attempts idle for a day is forgotten: its row goes, and a recent
/// one stays (made-up addresses are throttled too, so anyone can add rows).
#[tokio::test]
async fn idle_password_budgets_are_deleted() {
    let server = TestServer::start().await;
    for email in ["made-up-1@example.com", "made-up-2@example.com"] {
        let r = server.client().sign_in(email, "a-guess").await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    assert_eq!(
        server.psql(r#"select count(*) from "password_budget""#),
        "2"
    );
    server.psql(&format!(
        r#"update "password_budget" set "last_attempt_at" = now() - interval '{} seconds'
           where "key" = sha256('made-up-1@example.com')"#,
        stackr_auth::account_throttle::FORGET_AFTER.as_secs()
    ));
    stackr_auth::housekeeping::delete_expired(&server.state)
        .await
        .unwrap();
    assert_eq!(
        server.psql(r#"select count(*) from "password_budget" where "key" = sha256('made-up-2@example.com')"#),
        "1",
        "the recent run is kept"
    );
    assert_eq!(
        server.psql(r#"select count(*) from "password_budget""#),
        "1"
    );
}
