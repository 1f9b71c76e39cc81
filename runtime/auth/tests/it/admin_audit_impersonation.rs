//! What an admin changes while impersonating a user, through the user's own routes (the admin
//! routes are out of an impersonation's reach), is in the admin audit log in the admin's name:
//! the user's profile (`update-user`) and the user's sessions ended (`revoke-session`,
//! `revoke-other-sessions`, `revoke-sessions`). The same routes used by the user record nothing.

use crate::common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn an_impersonating_admins_changes_are_in_the_audit_log() {
    let server = TestServer::start_with(Options {
        session_cache_ms: Some(0),
        ..Default::default()
    })
    .await;
    let mut admin = server.admin("Root", "root@example.com").await;
    let mut user = server.client();
    let uid = user
        .sign_up_id("Uma", "uma@example.com", "password-123")
        .await;
    // The user's own change is no admin action.
    let r = user
        .post("/api/auth/update-user", json!({"name": "Uma B"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut elsewhere = server.client();
    elsewhere.sign_in("uma@example.com", "password-123").await;

    let r = admin
        .post("/api/auth/admin/impersonate-user", json!({"userId": uid}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let session = r.json()["session"]["id"].as_str().unwrap().to_owned();
    let r = admin
        .post("/api/auth/update-user", json!({"name": "Changed"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sessions = admin.get("/api/auth/list-sessions").await.json();
    let handle = sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["token"].as_str().unwrap().to_owned())
        .find(|h| h != &format!("session-id:{session}"))
        .unwrap();
    for (path, body) in [
        ("revoke-session", json!({"token": handle})),
        ("revoke-other-sessions", json!({})),
        ("revoke-sessions", json!({})),
    ] {
        let r = admin.post(&format!("/api/auth/{path}"), body).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }

    let rows = server.psql(
        r#"select "actor_email" || '|' || "action" || '|' || "target_id" || '|' || "detail" from "admin_audit"
           where "action" <> 'impersonate-user' order by "id""#,
    );
    let expected: Vec<String> = [
        "impersonation:update-user|name",
        "impersonation:revoke-session|sessions=1",
        "impersonation:revoke-other-sessions|sessions=1",
        "impersonation:revoke-sessions|sessions=1",
    ]
    .iter()
    .map(|row| {
        let (action, detail) = row.split_once('|').unwrap();
        format!("root@example.com|{action}|{uid}|session={session}; {detail}")
    })
    .collect();
    assert_eq!(rows.lines().collect::<Vec<_>>(), expected);
}
