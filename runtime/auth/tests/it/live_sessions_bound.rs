//! A user holds at most `MAX_LIVE_PER_USER` live sessions of their own: a sign-in beyond it ends
//! their least recently used, in the transaction that writes the new one, even when sign-ins race.
//! An admin runs at most as many impersonations, whichever users they are of.

use serde_json::Value;
use stackr_auth::account_throttle;
use stackr_auth::db::sessions::MAX_LIVE_PER_USER;

use crate::common::{until_waiting_for_locks, Client, TestServer};

const PASSWORD: &str = "password-123";

/// Signs `email` in (which must succeed) with a client of its own; the new session's token.
async fn sign_in_token(base: &str, email: &str) -> String {
    let r = Client::new(base).sign_in(email, PASSWORD).await;
    assert_eq!(r.status, 200, "sign-in: {}", r.text);
    r.json()["token"].as_str().unwrap().to_owned()
}

/// `GET path` with the session `token` as bearer.
async fn as_bearer(server: &TestServer, token: &str, path: &str) -> (u16, String) {
    let client = server.client();
    let r = client
        .raw()
        .get(client.url(path))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn is_live(server: &TestServer, token: &str) -> bool {
    let (status, body) = as_bearer(server, token, "/api/auth/get-session").await;
    assert_eq!(status, 200, "{body}");
    body != "null"
}

/// The ids of the sessions `list-sessions` answers to the session `token` (it shows the others'
/// tokens by handle).
async fn listed(server: &TestServer, token: &str) -> Vec<String> {
    let (status, body) = as_bearer(server, token, "/api/auth/list-sessions").await;
    assert_eq!(status, 200, "{body}");
    let list: Value = serde_json::from_str(&body).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The id of the live session `token`.
async fn id_of(server: &TestServer, token: &str) -> String {
    let (status, body) = as_bearer(server, token, "/api/auth/get-session").await;
    assert_eq!(status, 200, "{body}");
    let session: Value = serde_json::from_str(&body).unwrap();
    session["session"]["id"].as_str().unwrap().to_owned()
}

fn max() -> usize {
    usize::try_from(MAX_LIVE_PER_USER).unwrap()
}

#[tokio::test]
async fn sessions_beyond_the_bound_end_the_least_recently_used() {
    let server = TestServer::start().await;
    let email = "many@example.com";
    let r = server.client().sign_up("Many", email, PASSWORD).await;
    let mut tokens = vec![r.json()["token"].as_str().unwrap().to_owned()];
    while tokens.len() < max() {
        tokens.push(sign_in_token(&server.base, email).await);
    }
    // The first session is in use: get-session slides it (its last refresh two days ago), which
    // makes it the most recently used of those so far.
    server.psql(&format!(
        r#"update "session" set "expiresAt" = now() + interval '5 days' where "token" = '{}'"#,
        tokens[0]
    ));
    let (_, refreshed) = as_bearer(&server, &tokens[0], "/api/auth/get-session").await;
    assert_ne!(refreshed, "null");
    // The next least recently used is cached by get-session: its end must flush it.
    assert!(is_live(&server, &tokens[1]).await);

    let beyond = 3;
    for _ in 0..beyond {
        tokens.push(sign_in_token(&server.base, email).await);
    }

    for ended in &tokens[1..=beyond] {
        assert!(!is_live(&server, ended).await, "{ended} still live");
    }
    let kept: Vec<String> = std::iter::once(tokens[0].clone())
        .chain(tokens[beyond + 1..].iter().cloned())
        .collect();
    let mut kept_ids = Vec::new();
    for token in &kept {
        assert!(is_live(&server, token).await, "{token} ended");
        kept_ids.push(id_of(&server, token).await);
    }
    let newest = tokens.last().unwrap();
    let mut shown = listed(&server, newest).await;
    assert_eq!(shown.len(), max());
    shown.sort();
    kept_ids.sort();
    assert_eq!(shown, kept_ids);
}

#[tokio::test]
async fn sign_ins_at_once_never_leave_more_than_the_bound() {
    let server = TestServer::start().await;
    let email = "racing@example.com";
    server.client().sign_up("Racing", email, PASSWORD).await;
    // Room for a few; the concurrent sign-ins (as many as the account's password budget lets run
    // at once) go past it together.
    let at_once = account_throttle::BUDGET as usize;
    for _ in 1..max() - 3 {
        sign_in_token(&server.base, email).await;
    }
    // Each sign-in is held at what it writes after its session (what that sign-in proved) until
    // all have come that far: they overlap, as many at once do when the database is slow.
    let holder = server.state.db().await.unwrap();
    holder
        .batch_execute(r#"begin; lock table "session_sign_in" in exclusive mode"#)
        .await
        .unwrap();
    let racing: Vec<_> = (0..at_once)
        .map(|_| {
            let base = server.base.clone();
            tokio::spawn(async move { sign_in_token(&base, email).await })
        })
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    until_waiting_for_locks(&holder, at_once, deadline, "the sign-ins never waited").await;
    holder.batch_execute("commit").await.unwrap();
    let mut newest = Vec::new();
    for task in racing {
        newest.push(task.await.unwrap());
    }

    let live = server.psql(&format!(
        r#"select count(*) from "session" s join "user" u on u."id" = s."userId"
           where u."email" = '{email}' and s."expiresAt" > now()"#
    ));
    assert_eq!(live, MAX_LIVE_PER_USER.to_string());
    for token in &newest {
        assert!(is_live(&server, token).await, "{token} ended");
    }
    assert_eq!(listed(&server, &newest[0]).await.len(), max());
}

/// A session replaced by a new one (turning two-factor on rotates it twice) is no extra session:
/// at the bound, the rotation ends none of the user's others.
#[tokio::test]
async fn a_rotation_at_the_bound_ends_no_other_session() {
    let server = TestServer::start().await;
    let email = "rotating@example.com";
    let mut browser = server.client();
    let r = browser.sign_up("Rotating", email, PASSWORD).await;
    let first = r.json()["token"].as_str().unwrap().to_owned();
    let mut others = Vec::new();
    while others.len() + 1 < max() {
        others.push(sign_in_token(&server.base, email).await);
    }
    // The browser's session is the most recently used: it is not the one a count that took it
    // for a session beside the new one would end.
    server.psql(&format!(
        r#"update "session" set "updatedAt" = now() + interval '1 minute' where "token" = '{first}'"#
    ));
    crate::common::enable_two_factor(&mut browser, PASSWORD).await;

    for other in &others {
        assert!(is_live(&server, other).await, "{other} ended by a rotation");
    }
    assert!(
        !is_live(&server, &first).await,
        "the replaced session lives on"
    );
    assert_eq!(listed(&server, &others[0]).await.len(), max());
}

/// Impersonates `user_id` as the admin signed in with `admin` (a browser of its own each time,
/// which keeps the admin's own session); the impersonation's token.
async fn impersonation_token(server: &TestServer, admin: &Client, user_id: &str) -> String {
    let mut browser = server.client();
    browser.cookies = admin.cookies.clone();
    let r = browser
        .post(
            "/api/auth/admin/impersonate-user",
            serde_json::json!({"userId": user_id}),
        )
        .await;
    assert_eq!(r.status, 200, "impersonate-user: {}", r.text);
    r.json()["session"]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn impersonations_beyond_the_bound_end_the_admins_least_recently_used() {
    let server = TestServer::start().await;
    let admin = server.admin("Root", "root@example.com").await;
    let admins_own = admin.cookies["better-auth.session_token"].clone();
    let mut users = Vec::new();
    for email in ["uma@example.com", "ugo@example.com"] {
        let r = server.client().sign_up("User", email, PASSWORD).await;
        users.push((
            r.json()["user"]["id"].as_str().unwrap().to_owned(),
            r.json()["token"].as_str().unwrap().to_owned(),
        ));
    }
    // Impersonations of either user count together: the bound is the admin's.
    let mut tokens = Vec::new();
    while tokens.len() < max() {
        let (user_id, _) = &users[tokens.len() % users.len()];
        tokens.push(impersonation_token(&server, &admin, user_id).await);
    }
    let beyond = 3;
    for _ in 0..beyond {
        tokens.push(impersonation_token(&server, &admin, &users[0].0).await);
    }

    for ended in &tokens[..beyond] {
        assert!(!is_live(&server, ended).await, "{ended} still live");
    }
    for kept in &tokens[beyond..] {
        assert!(is_live(&server, kept).await, "{kept} ended");
    }
    let running = server.psql(
        r#"select count(*) from "session" where "impersonatedBy" is not null and "expiresAt" > now()"#,
    );
    assert_eq!(running.trim(), max().to_string());
    // Neither the admin's own session nor the users' end for an impersonation.
    let client = server.client();
    let r = client
        .raw()
        .get(client.url("/api/auth/get-session"))
        .header("cookie", format!("better-auth.session_token={admins_own}"))
        .send()
        .await
        .unwrap();
    assert_ne!(
        r.text().await.unwrap(),
        "null",
        "the admin's own session ended"
    );
    for (_, own) in &users {
        assert!(is_live(&server, own).await, "a user's own session ended");
    }
    // The audit says which impersonations ended an earlier one.
    let audited = server.psql(
        r#"select count(*) from "admin_audit"
           where "action" = 'impersonate-user' and "detail" like '%; ended=1'"#,
    );
    assert_eq!(audited.trim(), beyond.to_string());
}

/// Ending a user's sessions (sign-out everywhere, a reset, a ban) and counting an admin's
/// impersonations find them by their user or their impersonator: neither reads the whole session
/// table, which holds every user's sessions, on each such request.
#[tokio::test]
async fn sessions_are_found_by_user_and_by_impersonator_through_indexes() {
    let server = TestServer::start().await;
    for filter in [
        r#""impersonatedBy" = 'x'"#,
        r#""userId" = 'x' or "impersonatedBy" = 'x'"#,
    ] {
        // Off, a sequential scan is still taken where no index serves the filter.
        let plan = server.psql(&format!(
            r#"set enable_seqscan = off; explain delete from "session" where {filter}"#
        ));
        assert!(!plan.contains("Seq Scan"), "{filter}: {plan}");
    }
}
