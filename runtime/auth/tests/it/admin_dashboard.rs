//! The admin dashboard on the admin port, driven as a browser without JavaScript does: sign-in
//! with a second factor, admins only, the user list and detail, CSRF-checked actions that take
//! effect at once and land in the audit log, escaping of hostile data, and valid HTML throughout.

use crate::common;

use common::*;
use serde_json::json;

/// Serves the dashboard of `server` on a loopback port; returns its base URL.
pub(crate) async fn dashboard(server: &TestServer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = stackr_auth::admin_page::router(server.state.clone())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// A browser on the dashboard: its own origin on every post.
pub(crate) fn browser(base: &str) -> Client {
    let mut c = Client::new(base);
    c.origin = Some(base.to_owned());
    c
}

pub(crate) async fn post_form(c: &mut Client, path: &str, fields: &[(&str, &str)]) -> Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut req = c
        .raw()
        .post(c.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(o) = &c.origin {
        req = req.header("origin", o);
    }
    c.send(req).await
}

/// An admin (root@example.com, no second factor) signed in to a dashboard of `server`.
pub(crate) async fn root_on_the_dashboard(server: &TestServer) -> Client {
    root_signed_in(server).await.0
}

/// [`root_on_the_dashboard`], with the answer to the sign-in.
async fn root_signed_in(server: &TestServer) -> (Client, Response) {
    let dash = dashboard(server).await;
    server
        .client()
        .sign_up("Root", "root@example.com", "password-123")
        .await;
    server.psql(r#"update "user" set "role" = 'admin' where "email" = 'root@example.com'"#);
    let mut admin = browser(&dash);
    let r = post_form(
        &mut admin,
        "/login",
        &[("email", "root@example.com"), ("password", "password-123")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    (admin, r)
}

/// Fails unless html5ever parses the page without a single error.
pub(crate) fn assert_valid(page: &Response) {
    use html5ever::tendril::TendrilSink;
    let dom = html5ever::parse_document(markup5ever_rcdom::RcDom::default(), Default::default())
        .one(page.text.as_str());
    let errors = dom.errors.borrow();
    assert!(
        errors.is_empty(),
        "HTML errors {errors:?} in:\n{}",
        page.text
    );
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"),);
}

/// The token of the form for `action` on the page.
pub(crate) fn token(page: &Response, action: &str) -> String {
    let marker =
        format!("name=\"action\" value=\"{action}\"><input type=\"hidden\" name=\"csrf\" value=\"");
    let start = page
        .text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {action} form in {}", page.text))
        + marker.len();
    page.text[start..].split('"').next().unwrap().to_owned()
}

pub(crate) fn location(r: &Response) -> &str {
    r.headers["location"].to_str().unwrap()
}

const HOSTILE: &str = "<img src=x onerror=alert(1)>\"'&";

#[tokio::test]
async fn admins_sign_in_with_two_factor_and_manage_users() {
    let server = TestServer::start().await;
    let dash = dashboard(&server).await;
    let mut root = server.client();
    root.sign_up("Root", "root@example.com", "password-123")
        .await;
    let (key, _) = enable_two_factor(&mut root, "password-123").await;
    server.psql(r#"update "user" set "role" = 'admin' where "email" = 'root@example.com'"#);
    let mut uma = server.client();
    let uid = uma
        .sign_up("Uma", "uma@example.com", "password-123")
        .await
        .json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .client()
        .sign_up(HOSTILE, "evil@example.com", "password-123")
        .await;

    let mut admin = browser(&dash);
    let r = admin.get("/").await;
    assert_eq!((r.status, location(&r)), (303, "/login"));
    let r = admin.get("/login").await;
    assert_eq!(r.status, 200);
    assert_valid(&r);
    let r = post_form(
        &mut admin,
        "/login",
        &[
            ("email", "root@example.com"),
            ("password", "wrong-password"),
        ],
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_valid(&r);
    let r = post_form(
        &mut admin,
        "/login",
        &[("email", "root@example.com"), ("password", "password-123")],
    )
    .await;
    assert!(r.text.contains("Authentication code"), "{}", r.text);
    assert_valid(&r);
    let r = post_form(&mut admin, "/login/two-factor", &[("code", "000000")]).await;
    assert!(r.status >= 400, "a wrong code is refused: {}", r.text);
    assert_valid(&r);
    let r = post_form(
        &mut admin,
        "/login/two-factor",
        &[("code", &totp_now(&key))],
    )
    .await;
    assert_eq!((r.status, location(&r)), (303, "/"), "{}", r.text);
    let session_cookie = r.set_cookie("better-auth.session_token").unwrap();
    assert!(
        session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"),
        "{session_cookie}"
    );
    assert_ends_with_the_browser_within_a_day(&server, &session_cookie);

    let r = admin.get("/").await;
    assert_eq!(r.status, 200);
    assert_valid(&r);
    assert!(r.text.contains("uma@example.com") && r.text.contains("evil@example.com"));
    assert!(
        !r.text.contains("<img")
            && r.text
                .contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"),
        "hostile names are escaped"
    );
    let r = admin.get("/?q=UMA&field=email").await;
    assert_valid(&r);
    assert!(r.text.contains("uma@example.com") && !r.text.contains("evil@example.com"));
    let r = admin.get("/?role=admin&sort=email&dir=asc").await;
    assert!(r.text.contains("root@example.com") && !r.text.contains("uma@example.com"));
    let r = admin.get("/?q=%3Cimg&field=name&banned=no&page=1").await;
    assert_valid(&r);
    assert!(r.text.contains("evil@example.com") && !r.text.contains("uma@example.com"));

    let user_page = format!("/users/{uid}");
    let r = admin.get(&user_page).await;
    assert_eq!(r.status, 200);
    assert_valid(&r);
    assert!(r.text.contains("Sessions (1)"), "{}", r.text);
    let set_role = token(&r, "set-role");

    // Forged posts: right token from another site, or no token from the dashboard.
    admin.origin = Some("http://evil.example".into());
    let r = post_form(
        &mut admin,
        &user_page,
        &[
            ("action", "set-role"),
            ("csrf", &set_role),
            ("role", "admin"),
        ],
    )
    .await;
    assert_eq!(r.status, 403);
    assert_valid(&r);
    admin.origin = Some(dash.clone());
    let r = post_form(
        &mut admin,
        &user_page,
        &[("action", "set-role"), ("role", "admin")],
    )
    .await;
    assert_eq!(r.status, 403);
    let r = post_form(
        &mut admin,
        &user_page,
        &[("action", "ban"), ("csrf", &set_role), ("reason", "x")],
    )
    .await;
    assert_eq!(r.status, 403, "a token is good for its own form only");
    assert_eq!(
        server.psql(&format!(
            r#"select "role" || coalesce("banned"::text, '') from "user" where "id" = '{uid}'"#
        )),
        "userfalse",
        "forged posts changed nothing"
    );

    let r = post_form(
        &mut admin,
        &user_page,
        &[
            ("action", "set-role"),
            ("csrf", &set_role),
            ("role", "admin"),
        ],
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(
        location(&r).starts_with(&format!("{user_page}?done=set-role&")),
        "{}",
        location(&r)
    );
    let r = admin.get(location(&r).to_owned().as_str()).await;
    assert!(
        r.text.contains("role=\"status\""),
        "a status message follows the action"
    );
    assert_eq!(uma.session().await["user"]["role"], "admin");

    let r = admin.get(&user_page).await;
    assert!(
        r.text.contains("name=\"confirm\" value=\"yes\" required>"),
        "the ban form asks for a confirmation: {}",
        r.text
    );
    let ban = token(&r, "ban");
    let unconfirmed = [
        ("action", "ban"),
        ("csrf", ban.as_str()),
        ("reason", "spam <b>"),
        ("length", "3600"),
    ];
    let r = post_form(&mut admin, &user_page, &unconfirmed).await;
    assert_eq!(r.status, 400, "a ban needs its confirmation: {}", r.text);
    assert_valid(&r);
    assert_ne!(
        uma.get("/api/auth/get-session").await.json(),
        json!(null),
        "an unconfirmed ban changes nothing"
    );
    let r = post_form(
        &mut admin,
        &user_page,
        &[unconfirmed.as_slice(), &[("confirm", "yes")]].concat(),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        uma.get("/api/auth/get-session").await.json(),
        json!(null),
        "the ban ends the user's sessions at once"
    );
    assert_eq!(
        uma.sign_in("uma@example.com", "password-123").await.code(),
        "BANNED_USER"
    );
    let r = admin.get(&user_page).await;
    assert_valid(&r);
    assert!(r.text.contains("spam &lt;b&gt;"), "{}", r.text);

    let delete = token(&r, "delete");
    let r = post_form(
        &mut admin,
        &user_page,
        &[
            ("action", "delete"),
            ("csrf", &delete),
            ("confirm_email", "someone@example.com"),
        ],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_valid(&r);
    let r = post_form(
        &mut admin,
        &user_page,
        &[
            ("action", "delete"),
            ("csrf", &delete),
            ("confirm_email", "UMA@example.com"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let r = admin.get(location(&r).to_owned().as_str()).await;
    assert!(r.text.contains("The user was deleted."), "{}", r.text);
    assert_eq!(
        server.psql(&format!(
            r#"select count(*) from "user" where "id" = '{uid}'"#
        )),
        "0"
    );
    assert_eq!(admin.get(&user_page).await.status, 404);

    let r = admin.get("/audit").await;
    assert_valid(&r);
    for action in ["set-role", "ban-user", "remove-user"] {
        assert!(
            r.text.contains(&format!("<td>{action}</td>")),
            "{action} in {}",
            r.text
        );
    }
    assert!(r.text.contains("uma@example.com") && r.text.contains("127.0.0.1"));

    let logout = {
        let marker = "name=\"csrf\" value=\"";
        let start = r.text.find(marker).unwrap() + marker.len();
        r.text[start..].split('"').next().unwrap().to_owned()
    };
    let r = post_form(&mut admin, "/logout", &[("csrf", &logout)]).await;
    assert_eq!((r.status, location(&r)), (303, "/login"));
    assert_eq!(admin.get("/").await.status, 303);
}

#[tokio::test]
async fn users_who_are_not_admins_are_refused() {
    let server = TestServer::start().await;
    let dash = dashboard(&server).await;
    server
        .client()
        .sign_up("Pat", "pat@example.com", "password-123")
        .await;
    let mut pat = browser(&dash);
    let r = post_form(
        &mut pat,
        "/login",
        &[("email", "pat@example.com"), ("password", "password-123")],
    )
    .await;
    assert_eq!(r.status, 403);
    assert_valid(&r);
    assert!(r.text.contains("not an admin"), "{}", r.text);
    assert!(
        pat.cookies.is_empty(),
        "no session for a non-admin: {:?}",
        pat.cookies
    );
    assert_eq!(
        server.psql(r#"select count(*) from "session" s join "user" u on u."id" = s."userId" where u."email" = 'pat@example.com'"#),
        "1",
        "only the sign-up session remains"
    );

    // A session from the API does not open the dashboard either.
    let mut api = server.client();
    api.sign_in("pat@example.com", "password-123").await;
    let mut with_api_cookie = browser(&dash);
    with_api_cookie.cookies = api.cookies.clone();
    let r = with_api_cookie.get("/").await;
    assert_eq!(r.status, 403);
    let r = with_api_cookie.get("/audit").await;
    assert_eq!(r.status, 403);

    // A cross-site sign-in post is refused before anything is checked.
    pat.origin = Some("http://evil.example".into());
    let r = post_form(
        &mut pat,
        "/login",
        &[("email", "pat@example.com"), ("password", "password-123")],
    )
    .await;
    assert_eq!(r.status, 403);
    let css = reqwest::get(format!("{dash}/dashboard.css")).await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

/// The value of the hidden `name` field that follows `after` on the page.
fn hidden_after(page: &Response, after: &str, name: &str) -> String {
    let from = page.text.find(after).expect("the anchor") + after.len();
    let marker = format!("name=\"{name}\" value=\"");
    let start = from + page.text[from..].find(&marker).expect("the field") + marker.len();
    page.text[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn sessions_bans_and_reset_mails_from_the_dashboard() {
    let server = TestServer::start().await;
    let dash = dashboard(&server).await;
    server
        .client()
        .sign_up("Root", "root@example.com", "password-123")
        .await;
    server.psql(r#"update "user" set "role" = 'admin' where "email" = 'root@example.com'"#);
    let mut phone = server.client();
    let uid = phone
        .sign_up("Uma", "uma@example.com", "password-123")
        .await
        .json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut laptop = server.client();
    laptop.sign_in("uma@example.com", "password-123").await;
    let mut admin = browser(&dash);
    let r = post_form(
        &mut admin,
        "/login",
        &[("email", "root@example.com"), ("password", "password-123")],
    )
    .await;
    assert_eq!(r.status, 303, "an admin without 2FA goes straight in");
    let user_page = format!("/users/{uid}");
    let act = |r: &Response, action: &'static str| (action, token(r, action));

    let r = admin.get(&user_page).await;
    assert!(r.text.contains("Sessions (2)"), "{}", r.text);
    let (action, csrf) = act(&r, "revoke-session");
    let first = hidden_after(&r, "value=\"revoke-session\">", "session");
    let r = post_form(
        &mut admin,
        &user_page,
        &[("action", action), ("csrf", &csrf), ("session", &first)],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let phone_alive = phone.session().await != json!(null);
    let laptop_alive = laptop.session().await != json!(null);
    assert!(phone_alive != laptop_alive, "exactly one session ended");
    let r = post_form(
        &mut admin,
        &user_page,
        &[("action", action), ("csrf", &csrf), ("session", &first)],
    )
    .await;
    assert_eq!(r.status, 400, "an ended session cannot be ended twice");

    let r = admin.get(&user_page).await;
    let (action, csrf) = act(&r, "revoke-sessions");
    let r = post_form(
        &mut admin,
        &user_page,
        &[("action", action), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(phone.session().await, json!(null));
    assert_eq!(laptop.session().await, json!(null));

    let r = admin.get(&user_page).await;
    let (ban, ban_csrf) = act(&r, "ban");
    let (unban, unban_csrf) = act(&r, "unban");
    let (reset, reset_csrf) = act(&r, "reset-mail");
    post_form(
        &mut admin,
        &user_page,
        &[
            ("action", ban),
            ("csrf", &ban_csrf),
            ("reason", ""),
            ("length", ""),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(
        phone
            .sign_in("uma@example.com", "password-123")
            .await
            .code(),
        "BANNED_USER"
    );
    let r = post_form(
        &mut admin,
        &user_page,
        &[("action", unban), ("csrf", &unban_csrf)],
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        phone
            .sign_in("uma@example.com", "password-123")
            .await
            .status,
        200
    );
    let r = post_form(
        &mut admin,
        &user_page,
        &[("action", reset), ("csrf", &reset_csrf)],
    )
    .await;
    assert_eq!(r.status, 303);
    let link = server.wait_for_link("uma@example.com", 1).await;
    assert!(link.contains("/api/auth/reset-password/"), "{link}");

    assert_eq!(
        server.psql(r#"select string_agg("action", ',' order by "id") from "admin_audit""#),
        "revoke-user-session,revoke-user-sessions,ban-user,unban-user,send-password-reset"
    );
}

#[tokio::test]
async fn the_user_list_comes_in_pages() {
    let server = TestServer::start().await;
    let mut admin = root_on_the_dashboard(&server).await;
    server.psql(
        r#"insert into "user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt")
           select 'bulk-' || n, 'Bulk ' || n, 'bulk' || lpad(n::text, 3, '0') || '@example.com', false, now(), now()
           from generate_series(1, 60) n"#,
    );
    let rows = |r: &Response| r.text.matches("<tr><td><a href=\"/users/").count();
    let r = admin.get("/?q=bulk&sort=email&dir=asc").await;
    assert_valid(&r);
    assert_eq!(rows(&r), 50);
    assert!(r.text.contains("Page 1 of 2 (60 users)"), "{}", r.text);
    assert!(r.text.contains("bulk001@") && !r.text.contains("bulk051@"));
    assert!(r.text.contains("rel=\"next\"") && !r.text.contains("rel=\"prev\""));
    let r = admin.get("/?q=bulk&sort=email&dir=asc&page=2").await;
    assert_valid(&r);
    assert_eq!(rows(&r), 10);
    assert!(r.text.contains("bulk051@") && r.text.contains("bulk060@"));
    assert!(r.text.contains("rel=\"prev\"") && !r.text.contains("rel=\"next\""));
    let r = admin.get("/?banned=yes").await;
    assert_eq!(rows(&r), 0, "nobody is banned");
    let r = admin
        .get("/?page=-5&sort=nonsense&dir=sideways&banned=maybe")
        .await;
    assert_eq!(r.status, 200, "odd parameters fall back to defaults");
    assert_valid(&r);
}

/// A dashboard session is the admin's key to every account: it ends with the browser (a cookie
/// without `Max-Age`) and within a day whatever the browser does, as the API's `rememberMe: false`.
fn assert_ends_with_the_browser_within_a_day(server: &TestServer, session_cookie: &str) {
    assert!(!session_cookie.contains("Max-Age"), "{session_cookie}");
    // `name=<token>.<signature>; ...`: the token is the session's.
    let value = session_cookie.split(';').next().unwrap();
    let token = value.split_once('=').unwrap().1.split('.').next().unwrap();
    assert!(token.chars().all(char::is_alphanumeric), "{token}");
    let hours_left: f64 = server
        .psql(&format!(
            r#"select extract(epoch from "expiresAt" - now()) / 3600 from "session"
               where "token" = '{token}'"#
        ))
        .parse()
        .unwrap();
    assert!(hours_left <= 24.0, "{hours_left} hours");
}

#[tokio::test]
async fn a_dashboard_sign_in_ends_with_the_browser_within_a_day() {
    let server = TestServer::start().await;
    let (mut admin, r) = root_signed_in(&server).await;
    let session_cookie = r.set_cookie("better-auth.session_token").unwrap();
    assert_ends_with_the_browser_within_a_day(&server, &session_cookie);
    assert_eq!(admin.get("/").await.status, 200);
}

/// The message after an action is shown only on the redirect the action made: a link of
/// anyone's (`?done=ban`, `?deleted=1`) would have an admin read that a user was banned or
/// deleted when nothing happened.
#[tokio::test]
async fn a_link_cannot_say_an_action_was_done() {
    let server = TestServer::start().await;
    let mut admin = root_on_the_dashboard(&server).await;
    let uid = server
        .client()
        .sign_up_id("Uma", "uma@example.com", "password-123")
        .await;
    let r = admin.get(&format!("/users/{uid}?done=ban")).await;
    assert_eq!(r.status, 200);
    assert!(!r.text.contains("The user was banned"), "{}", r.text);
    let r = admin
        .get(&format!("/users/{uid}?done=ban&proof=0123abcd"))
        .await;
    assert!(!r.text.contains("The user was banned"), "{}", r.text);
    let r = admin.get("/?deleted=1").await;
    assert_eq!(r.status, 200);
    assert!(!r.text.contains("The user was deleted."), "{}", r.text);
}

/// The status filter agrees with the status column: a ban whose time ran out is over (the user
/// signs in again), so its user is listed as not banned, and a ban still running as banned.
#[tokio::test]
async fn a_ban_that_ran_out_is_filtered_as_not_banned() {
    let server = TestServer::start().await;
    let mut admin = root_on_the_dashboard(&server).await;
    server.psql(
        r#"insert into "user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt", "banned", "banExpires")
           values ('ran-out', 'Ran Out', 'ran-out@example.com', false, now(), now(), true, now() - interval '1 hour'),
                  ('running', 'Running', 'running@example.com', false, now(), now(), true, now() + interval '1 hour')"#,
    );
    let banned = admin.get("/?banned=yes").await;
    let not_banned = admin.get("/?banned=no").await;
    assert!(
        banned.text.contains("running@example.com") && !banned.text.contains("ran-out@example.com"),
        "{}",
        banned.text
    );
    assert!(
        not_banned.text.contains("ran-out@example.com")
            && !not_banned.text.contains("running@example.com"),
        "{}",
        not_banned.text
    );
}

/// The audit log comes in pages of 200, newest first: every entry stays in reach however many
/// come after it, and an odd `before` starts at the newest.
#[tokio::test]
async fn the_audit_log_comes_in_pages() {
    let server = TestServer::start().await;
    let mut admin = root_on_the_dashboard(&server).await;
    server.psql(
        r#"insert into "admin_audit" ("actor_id", "actor_email", "action", "target_email", "detail", "ip")
           select 'x', 'root@example.com', 'set-role', 'entry' || lpad(n::text, 3, '0') || '@example.com', '', '127.0.0.1'
           from generate_series(1, 450) n"#,
    );
    let mut page = admin.get("/audit").await;
    let mut seen = Vec::new();
    loop {
        assert_valid(&page);
        seen.extend(
            (1..=450)
                .filter(|n| page.text.contains(&format!("entry{n:03}@")))
                .collect::<Vec<_>>(),
        );
        let Some(at) = page.text.find("href=\"/audit?before=") else {
            break;
        };
        let link = &page.text[at + 6..];
        let link = &link[..link.find('"').unwrap()];
        page = admin.get(link).await;
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 450, "every entry on some page");
    let odd = admin.get("/audit?before=nonsense").await;
    assert!(odd.text.contains("entry450@") && !odd.text.contains("entry250@"));
}

/// A NUL character in a dashboard URL (`%00`) is refused with 400, not passed to PostgreSQL,
/// whose text cannot hold it: that answered with an error page and logged an error per request.
#[tokio::test]
async fn a_nul_in_a_dashboard_url_is_refused() {
    let server = TestServer::start().await;
    let mut admin = root_on_the_dashboard(&server).await;
    let logs = stackr_testkit::CapturedLogs::start();
    for path in ["/users/a%00b", "/?q=a%00b", "/audit?page=%00"] {
        let r = admin.get(path).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text);
    }
    let errors = logs.alarming();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// A user may hold several roles (`admin,finance`). The role form shows each one held ticked and
/// stores every ticked one: a single-choice list showed only the last and, sent back unchanged,
/// replaced the roles with it, silently dropping `admin`. Nothing ticked changes nothing.
#[tokio::test]
async fn the_role_form_keeps_every_role_a_user_holds() {
    let server = TestServer::start_with(Options {
        roles: "finance",
        ..Default::default()
    })
    .await;
    let mut admin = root_on_the_dashboard(&server).await;
    let uid = server
        .client()
        .sign_up("Fin", "fin@example.com", "password-123")
        .await
        .json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server.psql(&format!(
        r#"update "user" set "role" = 'admin,finance' where "id" = '{uid}'"#
    ));
    let role_of = || {
        server.psql(&format!(
            r#"select "role" from "user" where "id" = '{uid}'"#
        ))
    };
    let user_page = format!("/users/{uid}");

    let r = admin.get(&user_page).await;
    assert_valid(&r);
    let ticked = |page: &Response, role: &str| {
        page.text.contains(&format!(
            "<input type=\"checkbox\" name=\"role\" value=\"{role}\" checked>"
        ))
    };
    assert!(
        ticked(&r, "admin") && ticked(&r, "finance") && !ticked(&r, "user"),
        "every role held, and only those, ticked: {}",
        r.text
    );

    let csrf = token(&r, "set-role");
    let r = post_form(
        &mut admin,
        &user_page,
        &[("action", "set-role"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status, 400, "nothing ticked is refused: {}", r.text);
    assert_valid(&r);
    assert_eq!(role_of(), "admin,finance");

    let r = post_form(
        &mut admin,
        &user_page,
        &[
            ("action", "set-role"),
            ("csrf", &csrf),
            ("role", "admin"),
            ("role", "finance"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(role_of(), "admin,finance", "both ticked roles stored");

    let r = post_form(
        &mut admin,
        &user_page,
        &[("action", "set-role"), ("csrf", &csrf), ("role", "finance")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(role_of(), "finance");
    let r = admin.get(&user_page).await;
    assert!(ticked(&r, "finance") && !ticked(&r, "admin"), "{}", r.text);

    // A role the stack no longer declares has no box: the form says that saving drops it.
    server.psql(&format!(
        r#"update "user" set "role" = 'finance,auditor,auditor' where "id" = '{uid}'"#
    ));
    let r = admin.get(&user_page).await;
    assert_valid(&r);
    assert!(
        r.text.contains(
            "Also holds auditor, which this stack no longer declares: setting roles drops it."
        ),
        "{}",
        r.text
    );
}

/// A user's page lists their newest sessions, as many as a user holds of their own at most, not
/// every one: impersonations come on top, and sessions written before the bound (by BetterAuth,
/// which has none) may be any number. The rest are counted, and "End all sessions" ends them too.
#[tokio::test]
async fn a_users_page_lists_their_newest_sessions_and_counts_the_rest() {
    let server = TestServer::start().await;
    let mut admin = root_on_the_dashboard(&server).await;
    let uid = server
        .client()
        .sign_up_id("Many", "many@example.com", "password-123")
        .await;
    server.psql(&format!(
        r#"insert into "session" ("id", "token", "userId", "expiresAt", "createdAt", "updatedAt", "userAgent")
           select 'bulk-' || n, 'bulk-token-' || n, '{uid}', now() + interval '1 day',
                  now() - n * interval '1 minute', now(), 'agent-' || lpad(n::text, 3, '0')
           from generate_series(1, 250) n"#
    ));
    let r = admin.get(&format!("/users/{uid}")).await;
    assert_valid(&r);
    let rows = r.text.matches("value=\"revoke-session\">").count();
    let listed = stackr_auth::db::sessions::MAX_LIVE_PER_USER;
    assert_eq!(rows as i64, listed, "sessions listed");
    let caption = r.text.split("<caption>Sessions").nth(1).unwrap_or_default();
    assert!(
        caption.starts_with(&format!(" (the newest {listed} of 251)")),
        "{}",
        &caption[..caption.len().min(80)]
    );
    assert!(
        r.text.contains("agent-001") && !r.text.contains("agent-250"),
        "the newest ones are listed"
    );
}
