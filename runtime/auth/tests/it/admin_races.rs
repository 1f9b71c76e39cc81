//! Admin actions that overlap, or that change what another admin's session may do: every admin
//! action runs after the others under way and reads its actor again, so a ban, a removal or a new
//! role decides what comes after it; an impersonation never becomes an admin's session, and one
//! under way holds the admin's row and the user's, so what ends either's sessions meanwhile ends
//! it too.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// A server without the session cache.
async fn uncached() -> TestServer {
    TestServer::start_with(Options {
        session_cache_ms: Some(0),
        ..Default::default()
    })
    .await
}

async fn signed_up(server: &TestServer, name: &str, email: &str) -> (Client, String) {
    let mut c = server.client();
    let id = c.sign_up_id(name, email, "password-123").await;
    (c, id)
}

/// Holds every admin action at its audit entry (after its checks and changes, before it commits)
/// until the returned transaction ends: requests sent meanwhile overlap as requests arriving
/// together do, whatever order they are answered in.
async fn hold_audit_entries(server: &TestServer) -> stackr_auth::db::Client {
    let holder = server.state.db().await.unwrap();
    holder
        .batch_execute(r#"begin; lock table "admin_audit" in exclusive mode"#)
        .await
        .unwrap();
    holder
}

/// An admin who impersonates a user does not get an admin session in that user's name when
/// another admin promotes the user: giving the admin role ends the user's impersonations, and
/// the impersonation cannot act as an admin.
#[tokio::test]
async fn a_user_made_admin_while_impersonated_ends_the_impersonation() {
    let server = uncached().await;
    let (mut root, _) = signed_up(&server, "Root", "root@example.com").await;
    let (mut ada, ada_id) = signed_up(&server, "Ada", "ada@example.com").await;
    let (_uma, uma_id) = signed_up(&server, "Uma", "uma@example.com").await;
    server.psql(r#"update "user" set "role" = 'admin' where "email" in ('root@example.com', 'ada@example.com')"#);

    let r = root
        .post(
            "/api/auth/admin/impersonate-user",
            json!({"userId": uma_id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = ada
        .post(
            "/api/auth/admin/set-role",
            json!({"userId": uma_id, "role": "admin"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = root
        .post(
            "/api/auth/admin/ban-user",
            json!({"userId": ada_id, "banReason": "x"}),
        )
        .await;
    assert_ne!(r.status, 200, "the impersonation acted as admin Uma");
    assert_eq!(
        root.session().await,
        json!(null),
        "the impersonation outlived the promotion"
    );
}

/// Defence in depth, for an impersonation of a user who holds the admin role however it came
/// about (here the database edited by hand): neither the admin API nor the dashboard takes it
/// as an admin's session.
#[tokio::test]
async fn an_impersonation_of_an_admin_is_not_an_admins_session() {
    let server = uncached().await;
    let (mut root, _) = signed_up(&server, "Root", "root@example.com").await;
    let (_uma, uma_id) = signed_up(&server, "Uma", "uma@example.com").await;
    server.psql(r#"update "user" set "role" = 'admin' where "email" = 'root@example.com'"#);
    let r = root
        .post(
            "/api/auth/admin/impersonate-user",
            json!({"userId": uma_id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    server.psql(r#"update "user" set "role" = 'admin' where "email" = 'uma@example.com'"#);

    let r = root.get("/api/auth/admin/list-users").await;
    assert_eq!(r.status, 403, "{}", r.text);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dashboard = format!("http://{}", listener.local_addr().unwrap());
    let app = stackr_auth::admin_page::router(server.state.clone())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut browser = Client::new(&dashboard);
    browser.cookies = root.cookies.clone();
    assert_eq!(browser.get("/").await.status, 403);
}

/// Two admins banning each other at the same moment: the second ban comes after the first, whose
/// admin is banned by then, so one admin who is not banned is left.
#[tokio::test]
async fn two_admins_banning_each_other_at_once_leave_one_admin() {
    let server = uncached().await;
    let (mut a, a_id) = signed_up(&server, "A", "a@example.com").await;
    let (mut b, b_id) = signed_up(&server, "B", "b@example.com").await;
    server.psql(r#"update "user" set "role" = 'admin'"#);

    let holder = hold_audit_entries(&server).await;
    let by_a = tokio::spawn(async move {
        a.post("/api/auth/admin/ban-user", json!({"userId": b_id}))
            .await
            .status
    });
    let by_b = tokio::spawn(async move {
        b.post("/api/auth/admin/ban-user", json!({"userId": a_id}))
            .await
            .status
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    holder.batch_execute("commit").await.unwrap();
    let mut answers = [by_a.await.unwrap(), by_b.await.unwrap()];
    answers.sort();
    assert_eq!(answers, [200, 403]);
    let left = server.psql(
        r#"select count(*) from "user" where "role" = 'admin' and not coalesce("banned", false)"#,
    );
    assert_eq!(left, "1");
}

/// An admin banned while their `impersonate-user` is under way keeps no impersonation: the ban
/// comes after it and ends it with the admin's own sessions.
#[tokio::test]
async fn a_banned_admin_keeps_no_impersonation_started_while_the_ban_ran() {
    let server = uncached().await;
    let (mut a, _) = signed_up(&server, "A", "a@example.com").await;
    let (mut b, b_id) = signed_up(&server, "B", "b@example.com").await;
    let (_u, u_id) = signed_up(&server, "U", "u@example.com").await;
    server.psql(
        r#"update "user" set "role" = 'admin' where "email" in ('a@example.com', 'b@example.com')"#,
    );

    let holder = hold_audit_entries(&server).await;
    let impersonation = tokio::spawn(async move {
        let r = b
            .post("/api/auth/admin/impersonate-user", json!({"userId": u_id}))
            .await;
        (r.status, b)
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let ban = tokio::spawn(async move {
        a.post("/api/auth/admin/ban-user", json!({"userId": b_id}))
            .await
            .status
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    holder.batch_execute("commit").await.unwrap();
    let ((started, mut b), banned) = (impersonation.await.unwrap(), ban.await.unwrap());
    assert_eq!((started, banned), (200, 200));
    assert_eq!(b.session().await, json!(null), "banned B still acts as U");
}

/// An admin who signs out everywhere (`revoke-sessions`, as after losing a copy of their cookie)
/// while that copy's `impersonate-user` is under way leaves no impersonation behind: the
/// revocation, a route of the admin's own that no admin action waits for, comes after it and
/// ends it with the admin's sessions, or the impersonation finds the admin's session ended.
/// Otherwise whoever held the copy kept acting as the user for the impersonation's hour.
#[tokio::test]
async fn an_admin_signing_out_everywhere_keeps_no_impersonation_started_meanwhile() {
    let server = uncached().await;
    let (mut root, _) = signed_up(&server, "Root", "root@example.com").await;
    let (_uma, uma_id) = signed_up(&server, "Uma", "uma@example.com").await;
    server.psql(r#"update "user" set "role" = 'admin' where "email" = 'root@example.com'"#);
    let mut thief = server.client();
    thief.cookies = root.cookies.clone();

    let holder = hold_audit_entries(&server).await;
    let impersonation = tokio::spawn(async move {
        let r = thief
            .post(
                "/api/auth/admin/impersonate-user",
                json!({"userId": uma_id}),
            )
            .await;
        (r.status, thief)
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    until_waiting_for_locks(&holder, 1, deadline, "the impersonation never waited").await;
    let revocation = tokio::spawn(async move {
        root.post("/api/auth/revoke-sessions", json!({}))
            .await
            .status
    });
    // The revocation waits for the impersonation, which holds the admin's row.
    until_waiting_for_locks(&holder, 2, deadline, "the revocation never waited").await;
    holder.batch_execute("commit").await.unwrap();
    let ((_, mut thief), revoked) = (impersonation.await.unwrap(), revocation.await.unwrap());
    assert_eq!(revoked, 200);
    assert_eq!(
        thief.session().await,
        json!(null),
        "an impersonation started with the admin's cookie outlived their signing out everywhere"
    );
    assert_eq!(
        server.psql(r#"select count(*) from "session" where "impersonatedBy" is not null"#),
        "0"
    );
}

/// A user who resets their password while an admin's `impersonate-user` of them is under way
/// (held at its audit entry, its session written) keeps no impersonation: the reset, which ends
/// all the user's sessions, waits for the impersonation, which holds the user's row, and ends it
/// with them. The session's reference to the row alone did not make the reset wait: it ended the
/// sessions without the uncommitted impersonation, which then acted as the user for its hour.
#[tokio::test]
async fn a_password_reset_keeps_no_impersonation_started_while_it_ran() {
    let server = uncached().await;
    let mut root = server.admin("Root", "root@example.com").await;
    let (_uma, uma_id) = signed_up(&server, "Uma", "uma@example.com").await;
    let token = server.reset_token("uma@example.com", 1).await;

    let holder = hold_audit_entries(&server).await;
    let impersonation = tokio::spawn(async move {
        let r = root
            .post(
                "/api/auth/admin/impersonate-user",
                json!({"userId": uma_id}),
            )
            .await;
        (r.status, root)
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    until_waiting_for_locks(&holder, 1, deadline, "the impersonation never waited").await;
    let mut owner = server.client();
    let mut reset = tokio::spawn(async move {
        owner
            .post(
                "/api/auth/reset-password",
                json!({"newPassword": "owner-password-1", "token": token}),
            )
            .await
    });
    // The reset waits for the impersonation; one that does not ends Uma's sessions at once,
    // the impersonation's not yet committed, and answers before the holder lets go.
    let answered = tokio::select! {
        reset = &mut reset => Some(reset.unwrap()),
        () = until_waiting_for_locks(&holder, 2, deadline, "the reset never waited") => None,
    };
    holder.batch_execute("commit").await.unwrap();
    let reset = match answered {
        Some(reset) => reset,
        None => reset.await.unwrap(),
    };
    let (started, mut root) = impersonation.await.unwrap();
    assert_eq!(reset.status, 200, "reset: {}", reset.text);
    assert_eq!(started, 200);
    assert_eq!(
        root.session().await,
        json!(null),
        "the impersonation outlived the reset"
    );
}
