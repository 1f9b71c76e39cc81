//! The admin plugin's user, password, session, permission and impersonation endpoints, and the
//! audit log every admin action writes.

use crate::common;

use common::*;
use serde_json::json;

/// An admin (root@example.com) and a user (uma@example.com), each signed in; Uma's id.
async fn admin_and_user(server: &TestServer) -> (Client, Client, String) {
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
    server.psql(r#"update "user" set "role" = 'admin' where "email" = 'root@example.com'"#);
    (admin, user, uid)
}

/// Rows of the audit log, oldest first: `action|target|ip` (the actor is checked separately).
fn audit(server: &TestServer) -> Vec<String> {
    server
        .psql(r#"select "action" || '|' || coalesce("target_id", '') || '|' || "ip" from "admin_audit" order by "id""#)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn admins_create_update_and_remove_users() {
    let server = TestServer::start_with(Options {
        session_cache_ms: Some(0),
        ..Default::default()
    })
    .await;
    let (mut admin, mut user, uid) = admin_and_user(&server).await;
    let new_user = json!({"email": "New@Example.com", "password": "password-123", "name": "Nu"});

    let r = server
        .client()
        .post("/api/auth/admin/create-user", new_user.clone())
        .await;
    assert_eq!((r.status, r.text.as_str()), (401, ""));
    let r = user
        .post("/api/auth/admin/create-user", new_user.clone())
        .await;
    assert_eq!(
        (r.status, r.code()),
        (403, "YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS".into())
    );
    let r = admin
        .post("/api/auth/admin/create-user", new_user.clone())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let created = r.json()["user"].clone();
    assert_eq!(
        (&created["email"], &created["name"], &created["role"]),
        (&json!("new@example.com"), &json!("Nu"), &json!("user"))
    );
    assert!(r.set_cookies().is_empty(), "the admin keeps their session");
    let r = server
        .client()
        .sign_in("new@example.com", "password-123")
        .await;
    assert_eq!(r.status, 200, "the created user signs in: {}", r.text);
    let r = admin.post("/api/auth/admin/create-user", new_user).await;
    assert_eq!(
        (r.status, r.code()),
        (400, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL".into())
    );
    let r = admin
        .post(
            "/api/auth/admin/create-user",
            json!({"email": "not-an-email", "name": "X"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "INVALID_EMAIL".into()));
    let r = admin
        .post(
            "/api/auth/admin/create-user",
            json!({"email": "ops@example.com", "name": "Ops", "role": ["admin"]}),
        )
        .await;
    assert_eq!(r.json()["user"]["role"], "admin", "{}", r.text);

    let update = |data| json!({"userId": uid, "data": data});
    let r = admin
        .post(
            "/api/auth/admin/update-user",
            update(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(
        (r.status, &r.json()["name"], &r.json()["id"]),
        (200, &json!("Renamed"), &json!(uid)),
        "update-user answers the bare user: {}",
        r.text
    );
    for (data, code) in [
        (json!({}), "NO_DATA_TO_UPDATE"),
        (
            json!({"password": "x"}),
            "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER",
        ),
        (json!({"id": "x"}), "USER_ID_CANNOT_BE_UPDATED"),
        (
            json!({"email": "root@example.com"}),
            "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
        ),
        (
            json!({"role": "nope"}),
            "YOU_ARE_NOT_ALLOWED_TO_SET_A_NON_EXISTENT_ROLE_VALUE",
        ),
    ] {
        let r = admin
            .post("/api/auth/admin/update-user", update(data.clone()))
            .await;
        assert_eq!((r.status, r.code()), (400, code.into()), "{data}");
    }
    let r = admin
        .post(
            "/api/auth/admin/update-user",
            json!({"userId": "nobody", "data": {"name": "X"}}),
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "USER_NOT_FOUND".into()));
    let r = admin
        .post(
            "/api/auth/admin/update-user",
            update(json!({"banned": true, "banReason": "spam"})),
        )
        .await;
    assert_eq!(r.json()["banReason"], "spam", "{}", r.text);
    assert_eq!(
        user.session().await,
        json!(null),
        "a ban through update-user ends the sessions"
    );
    admin
        .post(
            "/api/auth/admin/update-user",
            update(json!({"banned": false})),
        )
        .await;

    let r = admin
        .post(
            "/api/auth/admin/set-user-password",
            json!({"userId": uid, "newPassword": "short"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "PASSWORD_TOO_SHORT".into()));
    let r = admin
        .post(
            "/api/auth/admin/set-user-password",
            json!({"userId": uid, "newPassword": "new-password-1"}),
        )
        .await;
    assert_eq!(r.json(), json!({"status": true}));
    let mut uma = server.client();
    assert_eq!(
        uma.sign_in("uma@example.com", "password-123").await.status,
        401
    );
    assert_eq!(
        uma.sign_in("uma@example.com", "new-password-1")
            .await
            .status,
        200
    );

    let me = admin.session().await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = admin
        .post("/api/auth/admin/remove-user", json!({"userId": me}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, "YOU_CANNOT_REMOVE_YOURSELF".into())
    );
    let r = admin
        .post("/api/auth/admin/remove-user", json!({"userId": uid}))
        .await;
    assert_eq!(r.json(), json!({"success": true}));
    assert_eq!(uma.session().await, json!(null));
    let r = admin
        .get(&format!("/api/auth/admin/get-user?id={uid}"))
        .await;
    assert_eq!(r.status, 404);
    let r = admin
        .post("/api/auth/admin/remove-user", json!({"userId": uid}))
        .await;
    assert_eq!((r.status, r.code()), (404, "USER_NOT_FOUND".into()));
}

#[tokio::test]
async fn admins_list_and_revoke_a_users_sessions() {
    let server = TestServer::start_with(Options {
        session_cache_ms: Some(0),
        ..Default::default()
    })
    .await;
    let (mut admin, mut user, uid) = admin_and_user(&server).await;
    let mut laptop = server.client();
    laptop.sign_in("uma@example.com", "password-123").await;
    let list = json!({"userId": uid});

    let r = user
        .post("/api/auth/admin/list-user-sessions", list.clone())
        .await;
    assert_eq!(
        (r.status, r.code()),
        (403, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS".into())
    );
    let r = admin
        .post("/api/auth/admin/list-user-sessions", list.clone())
        .await;
    let sessions = r.json()["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "{}", r.text);
    assert!(sessions.iter().all(|s| s["userId"] == json!(uid)));

    let laptop_token = laptop.session().await["session"]["token"].clone();
    let r = user
        .post(
            "/api/auth/admin/revoke-user-session",
            json!({"sessionToken": laptop_token}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (403, "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS".into())
    );
    let r = admin
        .post(
            "/api/auth/admin/revoke-user-session",
            json!({"sessionToken": laptop_token}),
        )
        .await;
    assert_eq!(r.json(), json!({"success": true}));
    assert_eq!(laptop.session().await, json!(null));
    assert_eq!(user.session().await["user"]["id"], json!(uid));

    let r = admin
        .post("/api/auth/admin/revoke-user-sessions", list.clone())
        .await;
    assert_eq!(r.json(), json!({"success": true}));
    assert_eq!(user.session().await, json!(null));
    let r = admin.post("/api/auth/admin/list-user-sessions", list).await;
    assert_eq!(r.json(), json!({"sessions": []}));
}

#[tokio::test]
async fn has_permission_follows_the_admin_role() {
    let server = TestServer::start_with(Options {
        roles: "finance",
        ..Default::default()
    })
    .await;
    let (mut admin, mut user, _) = admin_and_user(&server).await;
    let ask = |permissions| json!({"permissions": permissions});
    let r = admin
        .post(
            "/api/auth/admin/has-permission",
            ask(json!({"user": ["ban", "set-role"], "session": ["revoke"]})),
        )
        .await;
    assert_eq!(r.json(), json!({"error": null, "success": true}));
    let r = admin
        .post(
            "/api/auth/admin/has-permission",
            ask(json!({"user": ["impersonate-admins"]})),
        )
        .await;
    assert_eq!(
        r.json()["success"],
        false,
        "admins may not impersonate admins"
    );
    let r = admin
        .post(
            "/api/auth/admin/has-permission",
            ask(json!({"billing": ["read"]})),
        )
        .await;
    assert_eq!(r.json()["success"], false, "unknown resources are denied");
    server.psql(r#"update "user" set "role" = 'finance' where "email" = 'uma@example.com'"#);
    let r = user
        .post(
            "/api/auth/admin/has-permission",
            ask(json!({"user": ["list"]})),
        )
        .await;
    assert_eq!(r.json(), json!({"error": null, "success": false}));
    let r = admin
        .post("/api/auth/admin/has-permission", json!({}))
        .await;
    assert_eq!((r.status, r.code()), (400, "VALIDATION_ERROR".into()));
    let r = admin
        .post(
            "/api/auth/admin/has-permission",
            json!({"permission": {"user": ["list"]}}),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (
            400,
            json!("invalid permission check. no permission(s) were passed.")
        )
    );
    let r = server
        .client()
        .post(
            "/api/auth/admin/has-permission",
            ask(json!({"user": ["list"]})),
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn impersonation_is_time_limited_visible_and_reversible() {
    let server = TestServer::start_with(Options {
        session_cache_ms: Some(0),
        ..Default::default()
    })
    .await;
    let (mut admin, _user, uid) = admin_and_user(&server).await;
    let admin_id = admin.session().await["user"]["id"].clone();

    let r = admin
        .post("/api/auth/admin/stop-impersonating", json!({}))
        .await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (400, json!("You are not impersonating anyone"))
    );
    let r = admin
        .post("/api/auth/admin/impersonate-user", json!({"userId": uid}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["user"]["id"], json!(uid));
    assert_eq!(r.json()["session"]["impersonatedBy"], admin_id);
    let expires: chrono::DateTime<chrono::Utc> = r.json()["session"]["expiresAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let left = expires - chrono::Utc::now();
    assert!(
        left <= chrono::Duration::hours(1) && left > chrono::Duration::minutes(50),
        "an impersonation lasts an hour, not {left}"
    );
    let seen = admin.session().await;
    assert_eq!(
        (&seen["user"]["id"], &seen["session"]["impersonatedBy"]),
        (&json!(uid), &admin_id),
        "the admin now browses as Uma, visibly"
    );
    let impersonation_token = seen["session"]["token"].clone();
    let r = admin
        .post("/api/auth/admin/stop-impersonating", json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["user"]["id"], admin_id);
    assert_eq!(admin.session().await["user"]["id"], admin_id);
    assert_eq!(
        server.psql(&format!(
            r#"select count(*) from "session" where "token" = '{}'"#,
            impersonation_token.as_str().unwrap()
        )),
        "0",
        "stopping ends the impersonation session"
    );

    let mut other = server.client();
    let other_id = other
        .sign_up("Ada", "ada@example.com", "password-123")
        .await
        .json()["user"]["id"]
        .clone();
    server.psql(r#"update "user" set "role" = 'admin' where "email" = 'ada@example.com'"#);
    let r = admin
        .post(
            "/api/auth/admin/impersonate-user",
            json!({"userId": other_id}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (403, "YOU_CANNOT_IMPERSONATE_ADMINS".into())
    );
}

/// An admin banned (or removed) by another loses the impersonations they run too: they act as
/// someone else, but they are the admin's sessions.
#[tokio::test]
async fn banning_an_admin_ends_the_impersonations_they_run() {
    let server = TestServer::start_with(Options {
        session_cache_ms: Some(0),
        ..Default::default()
    })
    .await;
    let (mut admin, _user, uid) = admin_and_user(&server).await;
    let admin_id = admin.session().await["user"]["id"].clone();
    let r = admin
        .post("/api/auth/admin/impersonate-user", json!({"userId": uid}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(admin.session().await["user"]["id"], json!(uid));

    let mut other = server.admin("Ada", "ada@example.com").await;
    let r = other
        .post("/api/auth/admin/ban-user", json!({"userId": admin_id}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        admin.session().await,
        json!(null),
        "the banned admin's impersonation ended"
    );
}

/// An admin signing out everywhere else (`revoke-other-sessions`) ends the impersonations they
/// run elsewhere too, as signing out everywhere does: with a copy of the admin's cookie, whoever
/// started one kept acting as the user for up to an hour after the admin's other sessions ended.
#[tokio::test]
async fn signing_out_other_sessions_ends_the_impersonations_run_elsewhere() {
    let server = TestServer::start_with(Options {
        session_cache_ms: Some(0),
        ..Default::default()
    })
    .await;
    let (mut admin, mut user, uid) = admin_and_user(&server).await;
    let mut elsewhere = server.client();
    let r = elsewhere.sign_in("root@example.com", "password-123").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = elsewhere
        .post("/api/auth/admin/impersonate-user", json!({"userId": uid}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(elsewhere.session().await["user"]["id"], json!(uid));

    let r = admin
        .post("/api/auth/revoke-other-sessions", json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        elsewhere.session().await,
        json!(null),
        "the impersonation run elsewhere ended"
    );
    assert_eq!(
        admin.session().await["user"]["email"],
        "root@example.com",
        "the admin's own session stays"
    );
    assert_eq!(
        user.session().await["user"]["id"],
        json!(uid),
        "the user's own session is not the admin's to end"
    );
}

/// An admin signed in without `rememberMe` who impersonates someone keeps their own session token
/// (in the `admin_session` cookie) only as long as the browser runs, like the session itself: a
/// persistent cookie kept it on a shared computer's disk for a week after the browser closed.
#[tokio::test]
async fn a_browser_session_admins_token_is_not_kept_past_the_browser() {
    let server = TestServer::start().await;
    let (_, _user, uid) = admin_and_user(&server).await;
    let mut shared = server.client();
    let r = shared
        .post(
            "/api/auth/sign-in/email",
            json!({"email": "root@example.com", "password": "password-123", "rememberMe": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = shared
        .post("/api/auth/admin/impersonate-user", json!({"userId": uid}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let kept = r.set_cookie("better-auth.admin_session").unwrap();
    assert!(!kept.contains("Max-Age"), "{kept}");

    // A remembered admin's token is kept as long as their session lasts, as BetterAuth keeps it.
    let mut remembered = server.client();
    remembered.sign_in("root@example.com", "password-123").await;
    let r = remembered
        .post("/api/auth/admin/impersonate-user", json!({"userId": uid}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let kept = r.set_cookie("better-auth.admin_session").unwrap();
    assert!(kept.contains("Max-Age=604800"), "{kept}");
}

#[tokio::test]
async fn every_admin_action_lands_in_the_audit_log() {
    let server = TestServer::start().await;
    let (mut admin, _user, uid) = admin_and_user(&server).await;
    let admin_id = admin.session().await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = admin
        .post(
            "/api/auth/admin/create-user",
            json!({"email": "c@example.com", "name": "C"}),
        )
        .await
        .json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = json!({"userId": uid});
    let calls = [
        ("set-role", json!({"userId": uid, "role": "admin"})),
        ("set-role", json!({"userId": uid, "role": "user"})),
        (
            "ban-user",
            json!({"userId": uid, "banReason": "spam; until=2000-01-01T00:00:00+00:00"}),
        ),
        ("unban-user", user.clone()),
        ("update-user", json!({"userId": uid, "data": {"name": "U"}})),
        (
            "set-user-password",
            json!({"userId": uid, "newPassword": "password-456"}),
        ),
        ("revoke-user-sessions", user.clone()),
        ("remove-user", json!({"userId": created})),
    ];
    for (path, body) in calls.iter().cloned() {
        let r = admin.post(&format!("/api/auth/admin/{path}"), body).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    // A refused action changes nothing and is not logged as done.
    admin
        .post("/api/auth/admin/remove-user", json!({"userId": "nobody"}))
        .await;
    let rows = audit(&server);
    let expected: Vec<String> =
        std::iter::once(format!("create-user|{created}|127.0.0.1"))
            .chain(calls.iter().map(|(path, body)| {
                format!("{path}|{}|127.0.0.1", body["userId"].as_str().unwrap())
            }))
            .collect();
    assert_eq!(rows, expected);
    assert_eq!(
        server.psql(r#"select distinct "actor_id" from "admin_audit""#),
        admin_id
    );
    let detail = server.psql(r#"select "detail" from "admin_audit" where "action" = 'ban-user'"#);
    // The reason is the admin's free text, quoted: it cannot pass for the ban's length.
    assert!(
        detail.starts_with(r#"reason="spam; until=2000-01-01T00:00:00+00:00"; until=never"#),
        "{detail}"
    );
    let detail =
        server.psql(r#"select "detail" from "admin_audit" where "action" = 'set-user-password'"#);
    assert!(
        !detail.contains("password-456"),
        "no secrets in the log: {detail}"
    );
}

/// A sign-in lifts an expired ban lazily, but never a ban an admin set in the meantime (it read
/// the user before): only a ban that is still the expired one is lifted.
#[tokio::test]
async fn lifting_an_expired_ban_leaves_a_newer_ban_alone() {
    let server = TestServer::start().await;
    let r = server
        .client()
        .sign_up("Ban", "ban@example.com", "password-123")
        .await;
    let id = r.json()["user"]["id"].as_str().unwrap().to_owned();
    let client = server.state.db().await.unwrap();
    let banned = || {
        server.psql(&format!(
            r#"select "banned" from "user" where "id" = '{id}'"#
        ))
    };
    server.psql(&format!(
        r#"update "user" set "banned" = true, "banExpires" = now() + interval '1 day' where "id" = '{id}'"#
    ));
    let lifted = stackr_auth::db::users::lift_expired_ban(&client, &id)
        .await
        .unwrap();
    assert_eq!((lifted, banned()), (0, "t".to_owned()));
    server.psql(&format!(
        r#"update "user" set "banExpires" = now() - interval '1 minute' where "id" = '{id}'"#
    ));
    let lifted = stackr_auth::db::users::lift_expired_ban(&client, &id)
        .await
        .unwrap();
    assert_eq!((lifted, banned()), (1, "f".to_owned()));
}

/// Two admins take the admin role from each other at the same moment, over and over: one of them
/// is refused each time (the last admin keeps the role), through set-role and update-user alike.
#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let server = TestServer::start().await;
    let mut ada = server.client();
    let ada_id = ada
        .sign_up("Ada", "ada@example.com", "password-123")
        .await
        .json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bob = server.client();
    let bob_id = bob
        .sign_up("Bob", "bob@example.com", "password-123")
        .await
        .json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for round in 0..20 {
        server.psql(r#"update "user" set "role" = 'admin'"#);
        let demote = |by: &Client, id: &str| {
            let (path, body) = if round % 2 == 0 {
                (
                    "/api/auth/admin/set-role",
                    json!({"userId": id, "role": "user"}),
                )
            } else {
                (
                    "/api/auth/admin/update-user",
                    json!({"userId": id, "data": {"role": "user"}}),
                )
            };
            let mut by_browser = server.client();
            by_browser.cookies = by.cookies.clone();
            async move { by_browser.post(path, body).await }
        };
        let (a, b) = tokio::join!(demote(&ada, &bob_id), demote(&bob, &ada_id));
        // The refused one is refused as the last admin, or as no admin any more when the other
        // change was made before its own permission was checked (or, admin actions running one
        // at a time, before its admin was read again: the permission of the route).
        let refused = if a.status == 200 { &b } else { &a };
        assert!(
            (a.status == 200 || b.status == 200)
                && [400, 403].contains(&refused.status)
                && [
                    "YOU_CANNOT_TAKE_THE_ROLE_OF_THE_LAST_ADMIN",
                    "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE",
                    "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS"
                ]
                .contains(&refused.json()["code"].as_str().unwrap_or_default()),
            "round {round}: {} {} / {} {}",
            a.status,
            a.text,
            b.status,
            b.text
        );
        let admins = server.psql(r#"select count(*) from "user" where "role" = 'admin'"#);
        assert_eq!(admins.trim(), "1", "round {round}");
    }
}

/// An impersonating admin cannot change how the user signs in without the user's password: a new
/// address, a provider linked or unlinked would hand them the account, unaudited. The user's own
/// session still can.
#[tokio::test]
async fn an_impersonation_cannot_change_how_the_user_signs_in() {
    let server = TestServer::start().await;
    let (mut admin, mut user, uid) = admin_and_user(&server).await;
    let r = admin
        .post("/api/auth/admin/impersonate-user", json!({"userId": uid}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for (path, body) in [
        (
            "/api/auth/change-email",
            json!({"newEmail": "admins-own@example.com"}),
        ),
        ("/api/auth/link-social", json!({"provider": "google"})),
        ("/api/auth/unlink-account", json!({"accountId": "any"})),
    ] {
        let r = admin.post(path, body).await;
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (403, json!("NOT_WHILE_IMPERSONATING")),
            "{path}: {}",
            r.text
        );
    }
    let r = user
        .post(
            "/api/auth/change-email",
            json!({"newEmail": "uma.new@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "the user's own session: {}", r.text);
}

/// An impersonation session lists the user's sessions with handles in place of their tokens:
/// a token taken there, used as bearer, would be a session of the user's own (not marked as an
/// impersonation, not limited to an hour, refreshed, and allowed to change the user's address),
/// in the admin's hands and unaudited. The handle still ends the session it names.
#[tokio::test]
async fn an_impersonation_sees_no_token_of_the_users_sessions() {
    let server = TestServer::start_with(Options {
        session_cache_ms: Some(0),
        ..Default::default()
    })
    .await;
    let (mut admin, mut user, uid) = admin_and_user(&server).await;
    let r = admin
        .post("/api/auth/admin/impersonate-user", json!({"userId": uid}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user_token = user.session().await["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = admin.get("/api/auth/list-sessions").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let tokens: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["token"].as_str().unwrap().to_owned())
        .collect();
    // The user's one session (impersonations are not listed, as BetterAuth lists them).
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert!(
        !r.text.contains(&user_token),
        "the user's token shown to an impersonation: {}",
        r.text
    );
    let handle = &tokens[0];
    assert!(handle.starts_with("session-id:"), "{handle}");
    let r = admin
        .post("/api/auth/revoke-session", json!({"token": handle}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        user.session().await.is_null(),
        "the handle ended the session"
    );
    // The user's own listing still shows tokens (BetterAuth's answer).
    let mut user = server.client();
    user.sign_in("uma@example.com", "password-123").await;
    let mine = user.session().await["session"]["token"].clone();
    let r = user.get("/api/auth/list-sessions").await;
    assert!(
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["token"] == mine),
        "{}",
        r.text
    );
}
