//! Oversize input: megabyte names and URLs stored and served back to every client and to the
//! admin page.

use std::sync::Arc;

use serde_json::json;

use super::harness::{Attack, Outcome, Stack};
use crate::ensure;

/// 1.5 MB, the size that used to be stored and served.
fn huge() -> String {
    "A".repeat(1_500_000)
}

async fn huge_sign_up(stack: Arc<Stack>) -> Outcome {
    let mut through = Vec::new();
    for (field, value) in [
        ("name", huge()),
        ("name", "n".repeat(10_000)),
        (
            "image",
            format!("https://img.example/{}", "i".repeat(10_000)),
        ),
        ("email", format!("{}@example.com", "e".repeat(10_000))),
    ] {
        let mut body =
            json!({"name": "Big", "email": "big@example.com", "password": "password-big-1"});
        body[field] = json!(value);
        let r = stack.client().post("/api/auth/sign-up/email", body).await;
        if r.status != 400 || r.code() != "VALIDATION_ERROR" {
            through.push(format!("{field} of {} chars: {}", value.len(), r.status));
        }
    }
    ensure!(through.is_empty(), "accepted: {through:?}");
    let created = stack
        .count(
            r#"select count(*) from "user" where "email" like $1"#,
            "%big@example.com",
        )
        .await;
    ensure!(created == 0, "{created} users were created");
    Ok(())
}

async fn huge_profile_update(stack: Arc<Stack>) -> Outcome {
    let (owner, user) = stack.user("profile").await;
    let query = r#"select "name" || coalesce("image", '') from "user" where "id" = $1"#;
    let before = stack.text(query, &user.id).await;
    let mut through = Vec::new();
    for body in [
        json!({"name": huge()}),
        json!({"image": format!("https://img.example/{}", "i".repeat(10_000))}),
    ] {
        let r = stack
            .moved(&owner)
            .post("/api/auth/update-user", body)
            .await;
        if r.status != 400 || r.code() != "VALIDATION_ERROR" {
            through.push(format!(
                "{}: {}",
                r.status,
                &r.text[..r.text.len().min(200)]
            ));
        }
    }
    ensure!(through.is_empty(), "accepted: {through:?}");
    ensure!(
        stack.text(query, &user.id).await == before,
        "the profile changed"
    );
    Ok(())
}

async fn huge_name_on_admin_page(stack: Arc<Stack>) -> Outcome {
    // A name stored before the caps existed (or written behind the service's back).
    let (_, user) = stack.user("legacy-huge").await;
    let (admin, admin_user) = stack.user("page-admin").await;
    let client = stack.server.state.db().await.unwrap();
    client
        .execute(
            r#"update "user" set "name" = $2 where "id" = $1"#,
            &[&user.id, &huge()],
        )
        .await
        .unwrap();
    stack.make_admin(&admin_user.id).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page_url = format!("http://{}/", listener.local_addr().unwrap());
    let router = stackr_auth::admin_page::router(stack.server.state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let r = admin
        .raw()
        .get(&page_url)
        .header("cookie", admin.cookie_header())
        .send()
        .await
        .unwrap();
    let status = r.status();
    let page = r.text().await.unwrap();
    server.abort();
    ensure!(status == 200, "the admin page answered {status}");
    ensure!(
        page.len() < 100_000,
        "the admin page rendered {} bytes for a handful of users",
        page.len()
    );
    Ok(())
}

async fn huge_body_and_headers(stack: Arc<Stack>) -> Outcome {
    let c = stack.client();
    let body = json!({"name": "x".repeat(3_000_000), "email": "bulk@example.com", "password": "password-bulk-1"});
    let r = c
        .raw()
        .post(c.url("/api/auth/sign-up/email"))
        .header("origin", crate::common::APP_ORIGIN)
        .json(&body)
        .send()
        .await;
    let status = r.map_or(0, |r| r.status().as_u16());
    ensure!(
        (400..500).contains(&status),
        "a 3 MB body answered {status}"
    );
    let mut through = Vec::new();
    let big_cookie = format!("better-auth.session_token={}", "c".repeat(300_000));
    let many_cookies: Vec<String> = (0..200)
        .map(|n| format!("better-auth.session_token=forged-{n}"))
        .collect();
    for (what, cookies) in [
        ("a 300 KB cookie", vec![big_cookie]),
        ("200 session cookies", many_cookies),
    ] {
        let mut req = c.raw().get(c.url("/api/auth/get-session"));
        for cookie in cookies {
            req = req.header("cookie", cookie);
        }
        match req.send().await {
            Ok(r) if r.status().is_server_error() => {
                through.push(format!("{what}: {}", r.status()));
            }
            Ok(r) if r.status().is_success() => {
                let body = r.text().await.unwrap_or_default();
                if body != "null" {
                    through.push(format!("{what}: a session {body}"));
                }
            }
            _ => {}
        }
    }
    let alive = stack.client().get("/api/auth/ok").await.status;
    ensure!(
        through.is_empty() && alive == 200,
        "service answers /ok with {alive}; {through:?}"
    );
    let created = stack
        .count(
            r#"select count(*) from "user" where "email" = $1"#,
            "bulk@example.com",
        )
        .await;
    ensure!(created == 0, "a user was created");
    Ok(())
}

/// A user agent is the client's own text, sent with every sign-in: a 100 KB one (a request's
/// headers hold that much) stored in the session would be served back whole by `get-session`
/// (which base services call unthrottled), `list-sessions` and the admin API and page, once per
/// session the user opens, so a few sign-ins would make every listing of them megabytes.
async fn huge_user_agent(stack: Arc<Stack>) -> Outcome {
    let (_, user) = stack.user("agent").await;
    let mut c = stack.client();
    let req = c
        .raw()
        .post(c.url("/api/auth/sign-in/email"))
        .header("origin", crate::common::APP_ORIGIN)
        .header("user-agent", "u".repeat(100_000))
        .json(&json!({"email": user.email, "password": user.password}));
    let r = c.send(req).await;
    ensure!(
        r.status == 200,
        "the sign-in answered {}: {}",
        r.status,
        r.text
    );
    let stored = stack
        .count(
            r#"select coalesce(max(length("userAgent")), 0)::bigint from "session" where "userId" = $1"#,
            &user.id,
        )
        .await;
    let listed = c.get("/api/auth/list-sessions").await;
    ensure!(
        stored <= stackr_auth::client_ip::MAX_USER_AGENT_CHARS as i64 && listed.text.len() < 10_000,
        "a session stores a user agent of {stored} characters; list-sessions answers {} bytes",
        listed.text.len()
    );
    Ok(())
}

pub fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            attack: "sign-up with a 1.5 MB name, or 10 KB name, image or email",
            refusal: "400 VALIDATION_ERROR, no user created",
            run: |s| Box::pin(huge_sign_up(s)),
        },
        Attack {
            attack: "update-user with a 1.5 MB name or a 10 KB image URL",
            refusal: "400 VALIDATION_ERROR, profile unchanged",
            run: |s| Box::pin(huge_profile_update(s)),
        },
        Attack {
            attack: "a 3 MB body, a 300 KB cookie header, 200 forged session cookies",
            refusal: "4xx or no session, nothing created, the service keeps answering",
            run: |s| Box::pin(huge_body_and_headers(s)),
        },
        Attack {
            attack: "a 1.5 MB name already in the database, shown on the admin page",
            refusal: "the page shows a shortened name",
            run: |s| Box::pin(huge_name_on_admin_page(s)),
        },
        Attack {
            attack: "a sign-in with a 100 KB User-Agent, listed back with list-sessions",
            refusal: "the session keeps a shortened user agent",
            run: |s| Box::pin(huge_user_agent(s)),
        },
    ]
}
