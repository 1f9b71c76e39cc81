//! A statement the database refuses is logged with PostgreSQL's own reason: "db error" alone
//! leaves the operator nothing to go on.

use serde_json::json;
use stackr_testkit::CapturedLogs;

use crate::common::TestServer;

#[tokio::test]
async fn a_refused_statement_is_logged_with_the_databases_reason() {
    let server = TestServer::start().await;
    let mut client = server.client();
    client
        .sign_up("Kim", "kim@example.com", "password-123")
        .await;
    server.psql(r#"alter table "session" rename to "session_moved""#);
    let logs = CapturedLogs::start();
    let answer = client
        .post(
            "/api/auth/sign-in/email",
            json!({"email": "kim@example.com", "password": "password-123"}),
        )
        .await;
    assert_eq!(answer.status, 500, "{}", answer.text);
    let lines = logs.lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains(r#"relation \"session\" does not exist"#)
                || l.contains(r#"relation "session" does not exist"#)),
        "{lines:#?}"
    );
}

/// A second start on a migrated database (a restart, a replica) says nothing of the migrations:
/// PostgreSQL's notice that their table exists, logged at every start, looked like a fault.
#[tokio::test]
async fn a_restart_logs_no_notice_about_the_existing_migrations_table() {
    let server = TestServer::start().await;
    let logs = CapturedLogs::start();
    let _replica = server.replica().await;
    let notices = logs.lines_containing("NOTICE");
    assert!(notices.is_empty(), "{notices:#?}");
}
