//! Roles and admin endpoints; per-IP rate limits that leave get-session alone.

use crate::common;

use common::*;
use serde_json::json;

/// Signs up root@example.com (to be made admin) and uma@example.com; returns their clients and
/// Uma's user id.
async fn root_and_uma(server: &TestServer) -> (Client, Client, String) {
    let mut admin = server.client();
    admin
        .sign_up("Root", "root@example.com", "password-123")
        .await;
    let mut user = server.client();
    let uid = user
        .sign_up("Uma", "uma@example.com", "password-123")
        .await
        .json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (admin, user, uid)
}

#[tokio::test]
async fn admin_can_list_set_roles_ban_and_unban() {
    let server = TestServer::start().await;
    let (mut admin, mut user, uid) = root_and_uma(&server).await;
    assert_eq!(user.session().await["user"]["role"], "user");

    // Not signed in: 401 with an empty body. Plain user: 403 with the plugin's code.
    let mut anon = server.client();
    let r = anon.get("/api/auth/admin/list-users").await;
    assert_eq!((r.status, r.text.as_str()), (401, ""));
    let r = user.get("/api/auth/admin/list-users").await;
    assert_eq!(
        r.json(),
        json!({"message": "You are not allowed to list users", "code": "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS"})
    );
    let r = user
        .post(
            "/api/auth/admin/set-role",
            json!({"userId": uid, "role": "admin"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (403, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE".into())
    );

    // The operator makes the first admin with the binary.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stackr-auth"))
        .args(["set-role", "root@example.com", "admin"])
        .env("DATABASE_URL", &server.db_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let r = admin
        .get("/api/auth/admin/list-users?limit=1&sortBy=email")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_eq!(
        (body["total"].as_i64(), body["limit"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(body["users"][0]["email"], "root@example.com");
    let r = admin
        .get("/api/auth/admin/list-users?searchValue=uma&searchField=email")
        .await;
    assert_eq!(r.json()["users"].as_array().unwrap().len(), 1);

    let r = admin
        .post(
            "/api/auth/admin/set-role",
            json!({"userId": uid, "role": "superuser"}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = admin
        .post(
            "/api/auth/admin/set-role",
            json!({"userId": uid, "role": "admin"}),
        )
        .await;
    assert_eq!(r.json()["user"]["role"], "admin");
    assert_eq!(user.session().await["user"]["role"], "admin");
    admin
        .post(
            "/api/auth/admin/set-role",
            json!({"userId": uid, "role": "user"}),
        )
        .await;

    // Ban: sessions end at once, sign-in is refused, unban restores it.
    let r = admin
        .post(
            "/api/auth/admin/ban-user",
            json!({"userId": uid, "banReason": "spam"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (
            r.json()["user"]["banned"].clone(),
            r.json()["user"]["banReason"].clone()
        ),
        (json!(true), json!("spam"))
    );
    assert_eq!(user.get("/api/auth/get-session").await.text, "null");
    let r = user.sign_in("uma@example.com", "password-123").await;
    assert_eq!((r.status, r.code()), (403, "BANNED_USER".into()));
    let r = admin
        .post("/api/auth/admin/unban-user", json!({"userId": uid}))
        .await;
    assert_eq!(r.json()["user"]["banned"], false);
    assert_eq!(
        user.sign_in("uma@example.com", "password-123").await.status,
        200
    );

    // A ban with an expiry lifts itself.
    admin
        .post(
            "/api/auth/admin/ban-user",
            json!({"userId": uid, "banExpiresIn": 1}),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(
        user.sign_in("uma@example.com", "password-123").await.status,
        200
    );
}

/// Runs `stackr-auth set-role EMAIL ROLE` against the server's database with `AUTH_ROLES`.
fn set_role_command(
    server: &TestServer,
    email: &str,
    role: &str,
    declared: &str,
) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_stackr-auth"))
        .args(["set-role", email, role])
        .env("DATABASE_URL", &server.db_url)
        .env("AUTH_ROLES", declared)
        .output()
        .unwrap()
}

#[tokio::test]
async fn roles_the_stack_declares_can_be_given_and_no_others() {
    let server = TestServer::start_with(Options {
        roles: "finance",
        // The operator command writes the database directly: no cached answer may hide it.
        session_cache_ms: Some(0),
        ..Options::default()
    })
    .await;
    let (mut admin, mut user, uid) = root_and_uma(&server).await;
    let out = set_role_command(&server, "root@example.com", "admin", "finance");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let r = admin
        .post(
            "/api/auth/admin/set-role",
            json!({"userId": uid, "role": "finance"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(user.session().await["user"]["role"], "finance");
    let r = admin
        .post(
            "/api/auth/admin/set-role",
            json!({"userId": uid, "role": ["finance", "auditor"]}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (
            400,
            "YOU_ARE_NOT_ALLOWED_TO_SET_A_NON_EXISTENT_ROLE_VALUE".into()
        )
    );
    assert_eq!(user.session().await["user"]["role"], "finance");

    // The operator command accepts the same roles, and names them when it refuses one.
    let out = set_role_command(&server, "uma@example.com", "auditor", "finance");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("`finance`") && stderr.contains("auditor"),
        "{stderr}"
    );
    let out = set_role_command(&server, "uma@example.com", "user,finance", "finance");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(user.session().await["user"]["role"], "user,finance");
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_ip_but_get_session_is_not() {
    let server = TestServer::start_with(Options {
        rate_limits: true,
        ..Options::default()
    })
    .await;
    let mut c = server.client();
    assert_eq!(
        c.sign_up("Vic", "vic@example.com", "password-123")
            .await
            .status,
        200
    );
    let mut attacker = server.client();
    let mut statuses = vec![];
    for _ in 0..4 {
        statuses.push(attacker.sign_in("vic@example.com", "wrong-password").await);
    }
    assert_eq!(
        statuses.iter().map(|r| r.status).collect::<Vec<_>>(),
        [401, 401, 401, 429]
    );
    let limited = &statuses[3];
    assert_eq!(
        limited.json(),
        json!({"message": "Too many requests. Please try again later."})
    );
    let wait: u64 = limited.headers["x-retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&wait), "{wait}");

    // Hundreds of service-to-service get-session calls from the same address all succeed.
    let cookie = c.cookie_header();
    let http = reqwest::Client::new();
    for _ in 0..300 {
        let r = http
            .get(c.url("/api/auth/get-session"))
            .header("cookie", cookie.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn admin_page_lists_users_for_admins_only() {
    let server = TestServer::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_url = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let app = stackr_auth::admin_page::router(server.state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut boss = server.client();
    boss.sign_up("Boss", "boss@example.com", "password-123")
        .await;
    let mut evil = server.client();
    evil.sign_up(
        "<script>alert(1)</script>",
        "evil@example.com",
        "password-123",
    )
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = |cookie: String| http.get(&admin_url).header("cookie", cookie).send();

    let anonymous = page(String::new()).await.unwrap();
    assert_eq!(
        (
            anonymous.status().as_u16(),
            anonymous.headers()["location"].to_str().unwrap()
        ),
        (303, "/login"),
        "without a session: to the dashboard's sign-in"
    );
    assert_eq!(page(boss.cookie_header()).await.unwrap().status(), 403);
    server.psql(r#"update "user" set "role" = 'admin' where "email" = 'boss@example.com'"#);
    let r = page(boss.cookie_header()).await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("evil@example.com") && html.contains("boss@example.com"),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;") && !html.contains("<script>"),
        "names are escaped"
    );
}

/// The operator taking the admin role away (`set-role EMAIL user`, the command that can demote
/// even the last admin) ends the impersonations that admin runs, as the admin API's `set-role`
/// does: they are the admin's sessions in other users' names, and whoever holds a copy of one
/// kept acting as the user for the rest of its hour.
#[tokio::test]
async fn the_set_role_command_taking_the_admin_role_ends_the_impersonations_they_run() {
    let server = TestServer::start_with(Options {
        // The operator command writes the database directly: no cached answer may hide it.
        session_cache_ms: Some(0),
        ..Options::default()
    })
    .await;
    let (mut admin, mut user, uid) = root_and_uma(&server).await;
    let out = set_role_command(&server, "root@example.com", "admin", "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = admin
        .post("/api/auth/admin/impersonate-user", json!({"userId": uid}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(admin.session().await["user"]["id"], json!(uid));

    let out = set_role_command(&server, "root@example.com", "user", "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        admin.session().await,
        json!(null),
        "the impersonation of the admin demoted by the operator still works"
    );
    assert_eq!(
        user.session().await["user"]["id"],
        json!(uid),
        "the user's own session is not the admin's to end"
    );
}
