//! A statement the service's database refuses is logged with PostgreSQL's own reason: "db error"
//! alone leaves the operator nothing to go on.

use crate::kit_support::{Stack, StackOptions};
use stackr_kit::Flavor;
use stackr_testkit::CapturedLogs;

fn logged_the_reason(logs: &CapturedLogs, table: &str) -> bool {
    logs.lines().iter().any(|line| {
        line.contains(&format!(r#"relation \"{table}\" does not exist"#))
            || line.contains(&format!(r#"relation "{table}" does not exist"#))
    })
}

#[tokio::test]
async fn refused_statements_are_logged_with_the_databases_reason() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    let logs = CapturedLogs::start();

    // Provisioning alice at her first call.
    stack.service_sql("ALTER TABLE stackr_user RENAME TO stackr_user_moved");
    let (status, _) = stack.get("/flex/me", &[("cookie", &alice.cookie)]).await;
    assert!(status.is_server_error(), "{status}");
    assert!(
        logged_the_reason(&logs, "stackr_user"),
        "{:#?}",
        logs.lines()
    );
    stack.service_sql("ALTER TABLE stackr_user_moved RENAME TO stackr_user");

    // A device session for her.
    stack.service_sql("ALTER TABLE stackr_device_session RENAME TO stackr_device_session_moved");
    let (status, _) = stack
        .request(
            reqwest::Method::POST,
            "/device-sessions",
            &[
                ("cookie", &alice.cookie),
                ("origin", stack.trusted_origin()),
            ],
        )
        .await;
    assert!(status.is_server_error(), "{status}");
    assert!(
        logged_the_reason(&logs, "stackr_device_session"),
        "{:#?}",
        logs.lines()
    );
}
