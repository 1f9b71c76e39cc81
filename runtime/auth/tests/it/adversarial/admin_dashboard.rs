//! Attacks on the admin surface: the dashboard on its own port and the admin API. Each attack is
//! what a rogue or compromised admin, or a web page the admin visits, would try.

use std::sync::Arc;

use serde_json::json;

use super::harness::{Attack, Outcome, Stack, User};
use crate::common::{Client, Response};
use crate::ensure;

/// Serves the dashboard of the stack's server on a loopback port; returns its base URL.
async fn dashboard(stack: &Stack) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = stackr_auth::admin_page::router(stack.server.state.clone())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// A browser on the dashboard, from an address of its own, posting with the dashboard's origin.
fn dashboard_browser(stack: &Stack, dash: &str) -> Client {
    let mut c = Client::from_address(dash, Some(stack.new_address()));
    c.origin = Some(dash.to_owned());
    c
}

/// Posts a form; `host` replaces the Host header when given.
async fn post_form(
    c: &mut Client,
    path: &str,
    host: Option<&str>,
    fields: &[(&str, &str)],
) -> Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut req = c
        .raw()
        .post(c.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(h) = host {
        req = req.header("host", h);
    }
    if let Some(o) = &c.origin {
        req = req.header("origin", o);
    }
    c.send(req).await
}

/// A new admin's browser, impersonating a new user: the browser, the admin, the user.
async fn impersonating(
    stack: &Stack,
    admin_tag: &str,
    user_tag: &str,
) -> Result<(Client, User, User), String> {
    let (mut browser, admin_user) = admin(stack, admin_tag).await;
    let (_u, user) = stack.user(user_tag).await;
    let r = browser
        .post(
            "/api/auth/admin/impersonate-user",
            json!({"userId": user.id}),
        )
        .await;
    answered(&r, 200, "impersonate-user")?;
    Ok((browser, admin_user, user))
}

/// Fails the attack's setup unless `r` answered `status`.
fn answered(r: &Response, status: u16, what: &str) -> Outcome {
    ensure!(
        r.status == status,
        "setup: {what} answered {}: {}",
        r.status,
        r.text
    );
    Ok(())
}

/// A signed-up user made admin; their browser holds the sign-up session (on the API).
async fn admin(stack: &Stack, tag: &str) -> (Client, User) {
    let (c, u) = stack.user(tag).await;
    stack.make_admin(&u.id).await;
    (c, u)
}

/// `GET /api/auth/get-session` with a bare session token as bearer: whose session it is.
async fn bearer_user(stack: &Stack, token: &str) -> serde_json::Value {
    let mut c = stack.client();
    c.origin = None;
    let req = c
        .raw()
        .get(c.url("/api/auth/get-session"))
        .header("authorization", format!("Bearer {token}"));
    let r = c.send(req).await;
    r.json()["user"]["id"].clone()
}

/// Admin A reads admin B's session tokens from `list-user-sessions` and uses one as bearer: A
/// now acts as B (who may not be impersonated: no role holds `impersonate-admins`), and the audit
/// log names B for what A did.
async fn another_admins_session_from_list_user_sessions(stack: Arc<Stack>) -> Outcome {
    let (mut a, _) = admin(&stack, "rogue-admin").await;
    let (_b, b) = admin(&stack, "other-admin").await;
    let (_v, victim) = stack.user("victim").await;
    let r = a
        .post(
            "/api/auth/admin/list-user-sessions",
            json!({"userId": b.id}),
        )
        .await;
    let tokens: Vec<String> = r.json()["sessions"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|s| s["token"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for token in tokens {
        if bearer_user(&stack, &token).await != json!(b.id) {
            continue;
        }
        // Act in B's name: the audit log will say B did it.
        let mut c = stack.client();
        c.origin = None;
        let req = c
            .raw()
            .post(c.url("/api/auth/admin/ban-user"))
            .header("authorization", format!("Bearer {token}"))
            .json(&json!({"userId": victim.id, "banReason": "framed"}));
        let banned = c.send(req).await;
        let actor = stack
            .text(
                r#"select "actor_email" from "admin_audit" where "target_id" = $1 and "action" = 'ban-user'"#,
                &victim.id,
            )
            .await;
        return Err(format!(
            "list-user-sessions answered admin B's live session token {token:?}; used as bearer it \
             is B's session (ban-user with it: {}, audit actor: {actor:?}, B is {})",
            banned.status, b.email
        ));
    }
    Ok(())
}

/// An admin starts impersonating a user, then another admin takes the admin role away: the
/// impersonation (their session, in the user's name) must end, as it does when they are banned
/// or removed.
async fn demoted_admin_keeps_impersonating(stack: Arc<Stack>) -> Outcome {
    let (mut a, a_user, target) = impersonating(&stack, "soon-demoted", "impersonated").await?;
    let (mut b, _) = admin(&stack, "demoter").await;
    let r = b
        .post(
            "/api/auth/admin/set-role",
            json!({"userId": a_user.id, "role": "user"}),
        )
        .await;
    answered(&r, 200, "set-role")?;
    let s = a.session().await;
    ensure!(
        s["user"]["id"] != json!(target.id),
        "the demoted admin still acts as {} through the impersonation session {} (impersonatedBy {})",
        target.email,
        s["session"]["id"],
        s["session"]["impersonatedBy"]
    );
    Ok(())
}

/// The only admin of a stack takes the admin role from themselves (dashboard form, then the API
/// on a second stack): nobody is left to administer the stack.
async fn last_admin_gives_up_the_role(_shared: Arc<Stack>) -> Outcome {
    let stack = Stack::start().await;
    let dash = dashboard(&stack).await;
    let (_api, root) = admin(&stack, "only-admin").await;
    let mut b = dashboard_browser(&stack, &dash);
    let r = post_form(
        &mut b,
        "/login",
        None,
        &[("email", &root.email), ("password", &root.password)],
    )
    .await;
    answered(&r, 303, "dashboard sign-in")?;
    let page = b.get(&format!("/users/{}", root.id)).await;
    let marker = "name=\"action\" value=\"set-role\"><input type=\"hidden\" name=\"csrf\" value=\"";
    let Some(start) = page.text.find(marker) else {
        return Err(format!("setup: no set-role form on {}", page.text));
    };
    let csrf = page.text[start + marker.len()..]
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = post_form(
        &mut b,
        &format!("/users/{}", root.id),
        None,
        &[("action", "set-role"), ("csrf", &csrf), ("role", "user")],
    )
    .await;
    let admins = stack
        .count(
            r#"select count(*) from "user" where 'admin' = any(string_to_array(coalesce("role", 'user'), ',')) and "id" <> $1"#,
            "",
        )
        .await;
    ensure!(
        admins > 0,
        "the last admin removed their own admin role from the dashboard ({} {}), no admin is left",
        r.status,
        r.headers
            .get("location")
            .map_or("", |l| l.to_str().unwrap_or(""))
    );
    Ok(())
}

/// A web page the admin visits rebinds its own name to 127.0.0.1 (DNS rebinding) and posts to
/// the loopback dashboard: Origin and Host both name the attacker's host, so the same-origin
/// check passes, and the page then reads the dashboard as its own origin.
async fn dns_rebinding_reaches_the_dashboard(stack: Arc<Stack>) -> Outcome {
    let dash = dashboard(&stack).await;
    let (_api, root) = admin(&stack, "rebound-admin").await;
    let port = dash.rsplit(':').next().unwrap();
    let evil_host = format!("rebind.attacker.example:{port}");
    let mut b = dashboard_browser(&stack, &dash);
    b.origin = Some(format!("http://{evil_host}"));
    let r = post_form(
        &mut b,
        "/login",
        Some(&evil_host),
        &[("email", &root.email), ("password", &root.password)],
    )
    .await;
    ensure!(
        r.status != 303,
        "a sign-in posted to Host {evil_host} from Origin http://{evil_host} was accepted ({} to {:?}, session cookie {:?})",
        r.status,
        r.headers.get("location"),
        r.set_cookies()
    );
    let req = b.raw().get(b.url("/audit")).header("host", &evil_host);
    let page = b.send(req).await;
    ensure!(
        page.status != 200,
        "the dashboard serves its pages to Host {evil_host}"
    );
    Ok(())
}

/// Every dashboard answer should forbid MIME sniffing (`X-Content-Type-Options: nosniff`) and
/// framing by older browsers that read no CSP `frame-ancestors` (`X-Frame-Options: DENY`), the
/// headers security scanners and browsers expect next to the CSP.
async fn dashboard_answers_without_protective_headers(stack: Arc<Stack>) -> Outcome {
    let dash = dashboard(&stack).await;
    let mut b = dashboard_browser(&stack, &dash);
    let mut missing = Vec::new();
    for path in ["/login", "/dashboard.css", "/users/%FF"] {
        let r = b.get(path).await;
        let nosniff = r
            .headers
            .get("x-content-type-options")
            .is_some_and(|v| v == "nosniff");
        let framing_denied = r
            .headers
            .get("x-frame-options")
            .is_some_and(|v| v == "DENY");
        if !nosniff || !framing_denied {
            missing.push(format!(
                "{path} ({} {:?})",
                r.status,
                r.headers.get("content-type")
            ));
        }
    }
    ensure!(
        missing.is_empty(),
        "no X-Content-Type-Options: nosniff or X-Frame-Options: DENY on {missing:?}"
    );
    Ok(())
}

/// A rogue admin bans a user, then lifts a ban that does not exist 200 times (each is logged,
/// though nothing changes): the audit page, which shows the newest 200 entries and no more, no
/// longer shows the ban.
async fn audit_page_flushed_by_no_op_actions(stack: Arc<Stack>) -> Outcome {
    let dash = dashboard(&stack).await;
    let (mut a, _) = admin(&stack, "flusher").await;
    let (_u, victim) = stack.user("flushed-victim").await;
    let (_n, bystander) = stack.user("bystander").await;
    let r = a
        .post(
            "/api/auth/admin/ban-user",
            json!({"userId": victim.id, "banReason": "hidden"}),
        )
        .await;
    answered(&r, 200, "ban-user")?;
    let mut c = stack.moved(&a);
    for i in 0..200 {
        if i % 50 == 49 {
            c = stack.moved(&a);
        }
        let r = c
            .post(
                "/api/auth/admin/unban-user",
                json!({"userId": bystander.id}),
            )
            .await;
        ensure!(
            r.status == 200,
            "setup: unban #{i} answered {}: {}",
            r.status,
            r.text
        );
    }
    // The admin's API session opens the dashboard too (same cookie).
    let mut b = dashboard_browser(&stack, &dash);
    b.cookies = a.cookies.clone();
    let page = b.get("/audit").await;
    ensure!(page.status == 200, "setup: /audit answered {}", page.status);
    let noop = stack
        .count(
            r#"select count(*) from "admin_audit" where "action" = 'unban-user' and "target_id" = $1"#,
            &bystander.id,
        )
        .await;
    ensure!(
        page.text.contains(&victim.email),
        "the ban of {} is no longer on the audit page after {noop} no-op unbans were logged",
        victim.email
    );
    Ok(())
}

/// An admin impersonates a user and moves the account to an address they own with
/// `change-email`: the account is theirs, and the audit log shows only `impersonate-user`.
async fn impersonation_changes_email_unaudited(stack: Arc<Stack>) -> Outcome {
    let (mut a, _, victim) = impersonating(&stack, "taker", "taken").await?;
    let new_email = format!("admins-own-{}", victim.email);
    let r = a
        .post("/api/auth/change-email", json!({"newEmail": new_email}))
        .await;
    if r.status != 200 {
        return Ok(());
    }
    let link = stack.server.wait_for_link(&new_email, 1).await;
    let path = &link[link.find("/api/auth").unwrap_or(0)..];
    stack.client().get(path).await;
    let email = stack
        .text(r#"select "email" from "user" where "id" = $1"#, &victim.id)
        .await;
    let logged = stack
        .text(
            r#"select string_agg("action", ',' order by "id") from "admin_audit" where "target_id" = $1"#,
            &victim.id,
        )
        .await;
    ensure!(
        email.as_deref() != Some(new_email.as_str())
            || logged.as_deref().is_some_and(|l| l.contains("email")),
        "during an impersonation the admin moved {} to {new_email}; the audit log for the user holds only {logged:?}",
        victim.email
    );
    Ok(())
}

/// The value of the CSRF field of the `action` form on a user's page.
fn csrf_of(page: &Response, action: &str) -> Option<String> {
    let marker =
        format!("name=\"action\" value=\"{action}\"><input type=\"hidden\" name=\"csrf\" value=\"");
    let start = page.text.find(&marker)? + marker.len();
    page.text[start..].split('"').next().map(str::to_owned)
}

/// Signs `user` in to the dashboard from a browser of its own.
async fn dashboard_sign_in(stack: &Stack, dash: &str, user: &User) -> Result<Client, String> {
    let mut b = dashboard_browser(stack, dash);
    let r = post_form(
        &mut b,
        "/login",
        None,
        &[("email", &user.email), ("password", &user.password)],
    )
    .await;
    answered(&r, 303, "dashboard sign-in")?;
    Ok(b)
}

const MARKUP: &str = "\"'><img src=x onerror=alert(1)><script>alert(2)</script>";

/// Hostile markup in every field the dashboard shows that a user, a device or an admin controls:
/// name, email, a session's user agent, the ban reason, a linked account's provider and id, an
/// audit entry's detail, the search box. No page may carry it as markup.
async fn stored_markup_on_every_page(stack: Arc<Stack>) -> Outcome {
    let dash = dashboard(&stack).await;
    let (mut a, root) = admin(&stack, "xss-admin").await;
    let email = "<img/src=x/onerror=alert(3)>@example.com";
    let mut v = stack.client();
    let req = v
        .raw()
        .post(v.url("/api/auth/sign-up/email"))
        .header("origin", crate::common::APP_ORIGIN)
        .header("user-agent", MARKUP)
        .json(
            &json!({"name": MARKUP, "email": email, "password": "password-xss-1",
                      "image": "javascript:alert(4)"}),
        );
    let r = v.send(req).await;
    answered(&r, 200, "sign-up with a hostile email")?;
    let vid = r.json()["user"]["id"].as_str().unwrap().to_owned();
    {
        let client = stack.server.state.db().await.unwrap();
        client
            .execute(
                r#"insert into "account" ("id", "accountId", "providerId", "userId", "updatedAt") values ($1, $2, $2, $3, now())"#,
                &[&format!("xss-{vid}"), &MARKUP, &vid],
            )
            .await
            .unwrap();
    }
    a.post(
        "/api/auth/admin/update-user",
        json!({"userId": vid, "data": {"name": MARKUP}}),
    )
    .await;
    let r = a
        .post(
            "/api/auth/admin/ban-user",
            json!({"userId": vid, "banReason": MARKUP}),
        )
        .await;
    answered(&r, 200, "ban")?;
    // A live session with a hostile user agent: an impersonation sent with one.
    let imp = stack.moved(&a);
    let req = imp
        .raw()
        .post(imp.url("/api/auth/admin/impersonate-user"))
        .header("origin", crate::common::APP_ORIGIN)
        .header("cookie", imp.cookie_header())
        .header("user-agent", MARKUP)
        .json(&json!({"userId": vid}));
    let r = imp.raw().execute(req.build().unwrap()).await.unwrap();
    ensure!(
        r.status() == 200,
        "setup: impersonate answered {}",
        r.status()
    );
    let mut b = dashboard_sign_in(&stack, &dash, &root).await?;
    let q: String = url::form_urlencoded::byte_serialize(MARKUP.as_bytes()).collect();
    let mut through = Vec::new();
    for path in [
        "/".to_owned(),
        format!("/?q={q}&role={q}&sort={q}&field={q}&banned={q}&page={q}"),
        format!("/users/{vid}"),
        format!("/users/{vid}?done={q}"),
        "/audit".to_owned(),
    ] {
        let page = b.get(&path).await;
        for bad in ["<img", "<script", "<svg"] {
            if page.text.contains(bad) {
                through.push(format!("{path}: {bad}"));
            }
        }
        if path.starts_with("/users/") && !page.text.contains("&lt;img src=x onerror=alert(1)&gt;")
        {
            through.push(format!(
                "{path}: setup: the hostile values are not on the page"
            ));
        }
        if page.text.contains("href=\"javascript") || page.text.contains("src=\"javascript") {
            through.push(format!("{path}: javascript: URL"));
        }
    }
    ensure!(through.is_empty(), "markup on the dashboard: {through:?}");
    Ok(())
}

/// Every way around the form tokens: no Origin, a foreign Origin or Referer, the token of another
/// user's form, of another action, of another admin's session, a GET carrying the form, and a
/// token kept after signing out. The victim must stay unbanned.
async fn forged_dashboard_form_posts(stack: Arc<Stack>) -> Outcome {
    let dash = dashboard(&stack).await;
    let (_a, root) = admin(&stack, "csrf-admin").await;
    let (_a2, other_admin) = admin(&stack, "csrf-other-admin").await;
    let (_v, victim) = stack.user("csrf-victim").await;
    let (_w, other) = stack.user("csrf-other").await;
    let mut b = dashboard_sign_in(&stack, &dash, &root).await?;
    let mut b2 = dashboard_sign_in(&stack, &dash, &other_admin).await?;
    let victim_page = b.get(&format!("/users/{}", victim.id)).await;
    let other_page = b.get(&format!("/users/{}", other.id)).await;
    let their_page = b2.get(&format!("/users/{}", victim.id)).await;
    let (Some(ban), Some(other_ban), Some(unban), Some(their_ban)) = (
        csrf_of(&victim_page, "ban"),
        csrf_of(&other_page, "ban"),
        csrf_of(&victim_page, "unban"),
        csrf_of(&their_page, "ban"),
    ) else {
        return Err("setup: missing forms".into());
    };
    let path = format!("/users/{}", victim.id);
    let fields = |token: &str| {
        vec![
            ("action".to_owned(), "ban".to_owned()),
            ("csrf".to_owned(), token.to_owned()),
            ("confirm".to_owned(), "yes".to_owned()),
        ]
    };
    let mut through = Vec::new();
    let mut attempt = |name: &str, r: &Response| {
        let to = r
            .headers
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or("");
        if r.status == 303 && to != "/login" {
            through.push(format!("{name}: {}", r.status));
        }
    };
    let as_pairs = |v: &Vec<(String, String)>| -> Vec<(String, String)> { v.clone() };
    let send =
        |b: &Client, origin: Option<&str>, referer: Option<&str>, body: &Vec<(String, String)>| {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(body)
                .finish();
            let mut req = b
                .raw()
                .post(b.url(&path))
                .header("content-type", "text/plain")
                .header("cookie", b.cookie_header())
                .body(body);
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            if let Some(r) = referer {
                req = req.header("referer", r);
            }
            req
        };
    let r = b.send(send(&b, None, None, &as_pairs(&fields(&ban)))).await;
    attempt("no Origin, no Referer", &r);
    let r = b
        .send(send(&b, Some("http://evil.example"), None, &fields(&ban)))
        .await;
    attempt("foreign Origin", &r);
    let r = b.send(send(&b, Some("null"), None, &fields(&ban))).await;
    attempt("Origin null", &r);
    let r = b
        .send(send(
            &b,
            None,
            Some(&format!("http://evil.example/{}", dash)),
            &fields(&ban),
        ))
        .await;
    attempt("foreign Referer", &r);
    let r = b
        .send(send(&b, Some(&dash), None, &fields(&other_ban)))
        .await;
    attempt("token of another user's ban form", &r);
    let r = b.send(send(&b, Some(&dash), None, &fields(&unban))).await;
    attempt("token of the unban form", &r);
    let r = b
        .send(send(&b, Some(&dash), None, &fields(&their_ban)))
        .await;
    attempt("token of another admin's session", &r);
    let r = b.send(send(&b, Some(&dash), None, &fields(""))).await;
    attempt("empty token", &r);
    let get = b
        .raw()
        .get(format!("{}{path}?action=ban&confirm=yes&csrf={ban}", dash))
        .header("cookie", b.cookie_header());
    b.send(get).await;
    // Signed out: the old page's token with the old cookie.
    let old_cookies = b.cookie_header();
    let nav = b.get("/").await;
    let logout = nav
        .text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("")
        .to_owned();
    post_form(&mut b, "/logout", None, &[("csrf", &logout)]).await;
    let req = b
        .raw()
        .post(b.url(&path))
        .header("origin", &dash)
        .header("cookie", old_cookies)
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields(&ban))
                .finish(),
        );
    let r = b.send(req).await;
    attempt("token and cookie kept after signing out", &r);
    let banned = stack
        .text(
            r#"select coalesce("banned", false)::text from "user" where "id" = $1"#,
            &victim.id,
        )
        .await;
    ensure!(
        through.is_empty() && banned.as_deref() == Some("false"),
        "forged posts acted: {through:?}; victim banned: {banned:?}"
    );
    Ok(())
}

/// Hostile paging, sorting and filter parameters on the dashboard's list and the admin API's
/// list-users: no error page, no SQL, no huge page.
async fn hostile_list_parameters(stack: Arc<Stack>) -> Outcome {
    let dash = dashboard(&stack).await;
    let (mut a, root) = admin(&stack, "params-admin").await;
    let mut b = dashboard_sign_in(&stack, &dash, &root).await?;
    let mut through = Vec::new();
    for q in [
        "page=-5",
        "page=99999999999999999999999",
        "page=1e9",
        "sort=email%22%3Bdrop%20table%20%22user%22--",
        "dir=asc%3Bselect%201",
        "field=password",
        "role=%27%20or%201%3D1--",
        "q=%25",
        "q=_",
        "q=%5C",
        "banned=1%20or%201%3D1",
    ] {
        let r = b.get(&format!("/?{q}")).await;
        if r.status != 200 {
            through.push(format!("dashboard ?{q}: {}", r.status));
        }
        if q.starts_with("q=") && !r.text.contains("(0 users)") {
            through.push(format!("dashboard ?{q} matched every user"));
        }
    }
    for q in [
        "limit=-1",
        "offset=-1",
        "limit=99999999999999999999",
        "offset=9223372036854775807",
        "sortBy=email%22--",
        "sortDirection=desc%3B",
        "searchField=password&searchValue=a",
        "searchValue=%25&searchOperator=starts_with",
    ] {
        let r = a.get(&format!("/api/auth/admin/list-users?{q}")).await;
        if r.status >= 500 {
            through.push(format!("list-users ?{q}: {}", r.status));
        }
        if r.status == 200 && r.json()["users"].as_array().is_some_and(|u| u.len() > 1000) {
            through.push(format!("list-users ?{q}: more than 1000 users"));
        }
        if q.starts_with("searchValue=%25")
            && r.json()["users"].as_array().is_some_and(|u| !u.is_empty())
        {
            through.push(format!("list-users ?{q}: % matched as a wildcard"));
        }
    }
    ensure!(through.is_empty(), "{through:?}");
    Ok(())
}

/// Password guesses through the dashboard's sign-in form are counted with the API's: the fourth
/// wrong password in 10 s from one address is refused without being checked.
async fn dashboard_sign_in_brute_force(stack: Arc<Stack>) -> Outcome {
    let dash = dashboard(&stack).await;
    let (_a, root) = admin(&stack, "guessed-admin").await;
    let mut b = dashboard_browser(&stack, &dash);
    let mut statuses = Vec::new();
    for i in 0..4 {
        let r = post_form(
            &mut b,
            "/login",
            None,
            &[("email", &root.email), ("password", &format!("guess-{i}"))],
        )
        .await;
        statuses.push(r.status);
    }
    let r = post_form(
        &mut b,
        "/login",
        None,
        &[("email", &root.email), ("password", &root.password)],
    )
    .await;
    statuses.push(r.status);
    ensure!(
        statuses[3] == 429 && statuses[4] != 303,
        "dashboard sign-in answers to 4 guesses and the right password: {statuses:?}"
    );
    Ok(())
}

/// A sign-in form posted to the dashboard through the proxy for `client`.
async fn post_login_for(c: &mut Client, client: &str, email: &str, password: &str) -> Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("email", email), ("password", password)])
        .finish();
    let req = c
        .raw()
        .post(c.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", c.origin.clone().unwrap())
        .header("x-forwarded-for", client)
        .body(body);
    c.send(req).await
}

/// Behind the trusted proxy, one client's wrong passwords on the dashboard's sign-in use up the
/// limit of that client's address only: another admin, from another address behind the same
/// proxy, still signs in.
async fn dashboard_guesses_behind_the_proxy(stack: Arc<Stack>) -> Outcome {
    let dash = dashboard(&stack).await;
    let (_a, root) = admin(&stack, "proxied-admin").await;
    let (_g, target) = admin(&stack, "proxied-target").await;
    let through_proxy = |client: &str| {
        let mut c = Client::from_address(&dash, Some(super::harness::PROXY_ADDRESS));
        c.origin = Some(dash.clone());
        (c, client.to_owned())
    };
    let (mut guesser, from) = through_proxy("198.51.100.7");
    for i in 0..4 {
        post_login_for(&mut guesser, &from, &target.email, &format!("guess-{i}")).await;
    }
    let (mut admin_browser, from) = through_proxy("203.0.113.20");
    let r = post_login_for(&mut admin_browser, &from, &root.email, &root.password).await;
    ensure!(
        r.status == 303,
        "another admin behind the same proxy was refused after one client's guesses: {} {}",
        r.status,
        r.text
    );
    Ok(())
}

/// The admin API caps the ban reason and a user's name (1024 and 256 characters); the dashboard's
/// ban form and `admin/update-user`'s nested `data` take any length.
async fn oversized_admin_text(stack: Arc<Stack>) -> Outcome {
    let dash = dashboard(&stack).await;
    let (mut a, root) = admin(&stack, "oversize-admin").await;
    let (_v, victim) = stack.user("oversize-victim").await;
    let (_w, other) = stack.user("oversize-other").await;
    let big = "x".repeat(200_000);
    let mut b = dashboard_sign_in(&stack, &dash, &root).await?;
    let page = b.get(&format!("/users/{}", victim.id)).await;
    let Some(token) = csrf_of(&page, "ban") else {
        return Err("setup: no ban form".into());
    };
    post_form(
        &mut b,
        &format!("/users/{}", victim.id),
        None,
        &[
            ("action", "ban"),
            ("csrf", &token),
            ("confirm", "yes"),
            ("reason", &big),
        ],
    )
    .await;
    let r = a
        .post(
            "/api/auth/admin/update-user",
            json!({"userId": other.id, "data": {"name": big, "image": big, "banReason": big}}),
        )
        .await;
    let reason = stack
        .count(
            r#"select coalesce(length("banReason"), 0)::bigint from "user" where "id" = $1"#,
            &victim.id,
        )
        .await;
    let name = stack
        .count(
            r#"select length("name")::bigint from "user" where "id" = $1"#,
            &other.id,
        )
        .await;
    ensure!(
        reason <= 1024 && name <= 256,
        "stored a {reason}-character ban reason from the dashboard and, from admin/update-user ({}), a {name}-character name",
        r.status
    );
    Ok(())
}

pub fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            attack: "admin: another admin's session token read from list-user-sessions, used as bearer",
            refusal: "no live session token of another admin is handed out (or it does not act as them)",
            run: |s| Box::pin(another_admins_session_from_list_user_sessions(s)),
        },
        Attack {
            attack: "admin: a demoted admin keeps the impersonation session they started",
            refusal: "taking the admin role away ends the impersonations they run, as a ban does",
            run: |s| Box::pin(demoted_admin_keeps_impersonating(s)),
        },
        Attack {
            attack: "admin: the last admin removes their own admin role from the dashboard",
            refusal: "the last admin's role cannot be taken away (refused, nothing changed)",
            run: |s| Box::pin(last_admin_gives_up_the_role(s)),
        },
        Attack {
            attack: "admin: a DNS-rebinding page signs in to the loopback dashboard with a foreign Host",
            refusal: "the dashboard answers only to its own host names",
            run: |s| Box::pin(dns_rebinding_reaches_the_dashboard(s)),
        },
        Attack {
            attack: "admin: dashboard answers open to MIME sniffing or framing",
            refusal: "every dashboard answer carries X-Content-Type-Options: nosniff and X-Frame-Options: DENY",
            run: |s| Box::pin(dashboard_answers_without_protective_headers(s)),
        },
        Attack {
            attack: "admin: a ban pushed off the audit page by 200 logged no-op unbans",
            refusal: "the audit page reaches every entry (or no-op actions are not logged)",
            run: |s| Box::pin(audit_page_flushed_by_no_op_actions(s)),
        },
        Attack {
            attack: "admin: an impersonating admin moves the user's account to their own address",
            refusal: "refused in an impersonation session, or written to the audit log",
            run: |s| Box::pin(impersonation_changes_email_unaudited(s)),
        },
        Attack {
            attack: "admin: stored markup in name, email, user agent, ban reason, linked account, audit, search",
            refusal: "every value is shown as text",
            run: |s| Box::pin(stored_markup_on_every_page(s)),
        },
        Attack {
            attack: "admin: forged dashboard form posts (origin, referer, other form's or session's token, GET, after sign-out)",
            refusal: "refused, the user is not banned",
            run: |s| Box::pin(forged_dashboard_form_posts(s)),
        },
        Attack {
            attack: "admin: hostile page, sort, filter and search parameters on the user lists",
            refusal: "the default is used, no error, no wildcard",
            run: |s| Box::pin(hostile_list_parameters(s)),
        },
        Attack {
            attack: "admin: one client's password guesses on the dashboard's sign-in behind the trusted proxy",
            refusal: "only that client's address is limited: another admin behind the proxy signs in",
            run: |s| Box::pin(dashboard_guesses_behind_the_proxy(s)),
        },
        Attack {
            attack: "admin: password guesses through the dashboard's sign-in form",
            refusal: "limited like the API's sign-in (3 per 10 s per address)",
            run: |s| Box::pin(dashboard_sign_in_brute_force(s)),
        },
        Attack {
            attack: "admin: a 200 KB ban reason (dashboard) and name (admin/update-user data)",
            refusal: "refused past the API's caps (1024 and 256 characters)",
            run: |s| Box::pin(oversized_admin_text(s)),
        },
    ]
}
