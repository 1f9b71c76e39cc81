//! Which of an admin's sessions open the admin dashboard and the API's admin routes: while the
//! admin has two-factor on, one whose sign-in proved their second factor. A sign-in through a
//! linked provider (the fake GitHub of `common/github_fake.rs`) asks for none, as in BetterAuth,
//! so its session keeps the API's other routes only.

use crate::common;
use crate::common::github_fake;
use crate::common::oidc_browser;

use common::{enable_two_factor, totp_now, Client, Response, TestServer};
use github_fake::{Account, Email, GithubFake};
use oidc_browser::{app, providers_from_file, Browser};
use serde_json::json;

const PROVIDER: &str = "github";
const EMAIL: &str = "root@example.com";
const PASSWORD: &str = "root-password-1";

struct Stack {
    auth: TestServer,
    github: GithubFake,
    dashboard: String,
    _files: tempfile::TempDir,
}

/// The auth service with the GitHub preset pointed at a fake GitHub that knows the admin's
/// account (address verified), and its dashboard on a loopback port.
async fn stack() -> Stack {
    let github = GithubFake::start(vec![Account {
        id: 4242,
        login: "root",
        name: Some("Root"),
        public_email: Some(EMAIL),
        emails: vec![Email {
            email: EMAIL,
            primary: true,
            verified: true,
        }],
    }])
    .await;
    let files = tempfile::tempdir().unwrap();
    let secret = files.path().join("github-client-secret");
    std::fs::write(&secret, github_fake::CLIENT_SECRET).unwrap();
    let entries = json!([github.preset_entry(PROVIDER, &secret)]);
    let auth = TestServer::start_with(common::Options {
        oauth_providers: providers_from_file(files.path(), entries),
        ..Default::default()
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dashboard = format!("http://{}", listener.local_addr().unwrap());
    let app = stackr_auth::admin_page::router(auth.state.clone())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Stack {
        auth,
        github,
        dashboard,
        _files: files,
    }
}

impl Stack {
    fn browser(&self, api: Client) -> Browser {
        Browser::new(api, self.auth.state.config.base(), &self.github.base)
    }

    /// A browser on the dashboard holding `cookies` (those of a browser on the API: one cookie
    /// serves both ports of a host).
    fn on_the_dashboard(&self, cookies: &Client) -> Client {
        let mut c = Client::new(&self.dashboard);
        c.origin = Some(self.dashboard.clone());
        c.cookies = cookies.cookies.clone();
        c
    }

    /// The admin signed up (their browser on the API) and made an admin, with GitHub linked.
    async fn admin_with_github(&self, two_factor: bool) -> (Client, Option<Vec<u8>>) {
        let mut api = self.auth.client();
        api.sign_up_id("Root", EMAIL, PASSWORD).await;
        let key = match two_factor {
            true => Some(enable_two_factor(&mut api, PASSWORD).await.0),
            false => None,
        };
        self.auth.psql(&format!(
            r#"update "user" set "role" = 'admin' where "email" = '{EMAIL}'"#
        ));
        let mut browser = self.browser(api);
        let r = browser
            .post_auth(
                "/api/auth/link-social",
                json!({"provider": PROVIDER, "callbackURL": "/settings"}),
            )
            .await;
        assert_eq!(r.status, 200, "link-social: {}", r.text);
        let to = app(browser
            .follow(r.json()["url"].as_str().unwrap().to_owned(), "root", false)
            .await);
        assert_eq!(to, "/settings", "GitHub is linked");
        (browser.auth, key)
    }

    /// Whoever holds the admin's GitHub account signs in with it: the browser on the API.
    async fn signed_in_through_github(&self) -> Client {
        let mut browser = self.browser(self.auth.client());
        let to = app(browser
            .social_via(PROVIDER, "root", json!({"callbackURL": "/home"}))
            .await);
        assert_eq!(to, "/home");
        assert_eq!(
            browser.auth.session().await["user"]["email"],
            EMAIL,
            "the provider's sign-in asks for no second factor, as in BetterAuth"
        );
        browser.auth
    }
}

async fn post_form(c: &mut Client, path: &str, fields: &[(&str, &str)]) -> Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let req = c
        .raw()
        .post(c.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", c.origin.clone().unwrap())
        .body(body);
    c.send(req).await
}

fn location(r: &Response) -> &str {
    r.headers["location"].to_str().unwrap()
}

/// Fails unless `dashboard` is sent to the sign-in page from the user list and the audit log,
/// and the sign-in page says why.
async fn sent_to_sign_in(dashboard: &mut Client) {
    for page in ["/", "/audit"] {
        let r = dashboard.get(page).await;
        assert_eq!(
            (
                r.status,
                r.headers.get("location").map(|l| l.to_str().unwrap())
            ),
            (303, Some("/login")),
            "{page}: {}",
            r.text
        );
    }
    let r = dashboard.get("/login").await;
    assert_eq!(r.status, 200);
    assert!(
        r.text.contains("did not prove your second factor"),
        "the sign-in page says why: {}",
        r.text
    );
}

/// Signs in on the dashboard's own page (email, password, then the code when `key` is given).
async fn dashboard_sign_in(dashboard: &mut Client, key: Option<&[u8]>) {
    let r = post_form(
        dashboard,
        "/login",
        &[("email", EMAIL), ("password", PASSWORD)],
    )
    .await;
    let r = match key {
        Some(key) => {
            assert!(r.text.contains("Authentication code"), "{}", r.text);
            post_form(dashboard, "/login/two-factor", &[("code", &totp_now(key))]).await
        }
        None => r,
    };
    assert_eq!((r.status, location(&r)), (303, "/"), "{}", r.text);
}

#[tokio::test]
async fn a_linked_provider_does_not_open_the_dashboard_of_an_admin_with_two_factor() {
    let stack = stack().await;
    let (_admin, key) = stack.admin_with_github(true).await;
    let mut via_github = stack.signed_in_through_github().await;
    // The API's routes take the session as BetterAuth's do, but not the admin routes: they
    // would let its holder do all the dashboard does (make an admin without two-factor, say).
    let r = via_github.session().await;
    assert_eq!(r["user"]["email"], EMAIL, "{r}");
    let target = stack
        .auth
        .client()
        .sign_up_id("Target", "target@example.com", PASSWORD)
        .await;
    for (path, body) in [
        ("/api/auth/admin/list-users", None),
        (
            "/api/auth/admin/impersonate-user",
            Some(json!({ "userId": target })),
        ),
        (
            "/api/auth/admin/create-user",
            Some(
                json!({"email": "second@example.com", "password": PASSWORD, "name": "Second", "role": "admin"}),
            ),
        ),
    ] {
        let r = match body {
            None => via_github.get(path).await,
            Some(body) => via_github.post(path, body).await,
        };
        assert_eq!(r.status, 403, "{path}: {}", r.text);
        assert_eq!(
            r.json()["code"],
            "SECOND_FACTOR_REQUIRED",
            "{path}: {}",
            r.text
        );
    }

    let mut dashboard = stack.on_the_dashboard(&via_github);
    sent_to_sign_in(&mut dashboard).await;
    let uid = via_github.session().await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = dashboard.get(&format!("/users/{uid}")).await;
    assert_eq!((r.status, location(&r)), (303, "/login"));

    // The same browser signs in on the dashboard's page with the password and the code.
    dashboard_sign_in(&mut dashboard, key.as_deref()).await;
    let r = dashboard.get("/").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains(EMAIL), "{}", r.text);
}

/// `GET path` on the API with `token` as bearer, as any script holding it may send.
async fn with_bearer(stack: &Stack, token: &str, path: &str) -> Response {
    let mut c = stack.auth.client();
    let req = c
        .raw()
        .get(c.url(path))
        .header("authorization", format!("Bearer {token}"));
    c.send(req).await
}

/// The provider's session is refused by the admin routes, but it may list the admin's sessions
/// (it is fresh): the list must not hand it the token of the admin's session that proved the
/// second factor, which used as bearer would be that session, admin routes and all.
#[tokio::test]
async fn a_linked_providers_session_is_shown_no_other_sessions_token() {
    let stack = stack().await;
    let (mut admin, _key) = stack.admin_with_github(true).await;
    let admins_token = admin.session().await["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        admin.get("/api/auth/admin/list-users").await.status,
        200,
        "the session that proved the code takes the admin routes"
    );
    let mut via_github = stack.signed_in_through_github().await;
    let own = via_github.session().await["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = via_github.get("/api/auth/list-sessions").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let shown: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["token"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(shown.len(), 2, "{}", r.text);
    assert!(shown.contains(&own), "its own token is shown: {}", r.text);
    assert!(
        !shown.contains(&admins_token),
        "the admin's session's token is shown to the provider's session: {}",
        r.text
    );
    for listed in shown.iter().filter(|t| **t != own) {
        let r = with_bearer(&stack, listed, "/api/auth/admin/list-users").await;
        assert_ne!(r.status, 200, "{listed} as bearer: {}", r.text);
        let r = with_bearer(&stack, listed, "/api/auth/get-session").await;
        assert_eq!(r.text, "null", "{listed} as bearer is a session");
        // What is shown still names the session for revoke-session, as a token did.
        let r = via_github
            .post("/api/auth/revoke-session", json!({ "token": listed }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert_eq!(
        admin.get("/api/auth/get-session").await.text,
        "null",
        "the admin's session was revoked by what the list showed"
    );
}

/// Nor may the provider's session, with the password, take the second factor itself: the
/// authenticator's key, new backup codes, or two-factor turned off would each give what the admin
/// routes ask of a session (a sign-in with the password and the code, or none at all).
#[tokio::test]
async fn a_linked_providers_session_does_not_take_the_second_factor_of_an_admin() {
    let stack = stack().await;
    let (mut admin, _key) = stack.admin_with_github(true).await;
    let mut via_github = stack.signed_in_through_github().await;
    for path in [
        "/api/auth/two-factor/get-totp-uri",
        "/api/auth/two-factor/generate-backup-codes",
        "/api/auth/two-factor/disable",
    ] {
        let r = via_github.post(path, json!({ "password": PASSWORD })).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "SECOND_FACTOR_REQUIRED".to_owned()),
            "{path}: {}",
            r.text
        );
    }
    let r = via_github.get("/api/auth/admin/list-users").await;
    assert_eq!(r.status, 403, "two-factor is still on: {}", r.text);
    // The admin's session that proved the code manages it as before.
    let r = admin
        .post(
            "/api/auth/two-factor/get-totp-uri",
            json!({ "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Without two-factor, a provider's sign-in proves as much as the password alone (which its
/// holder could set through the admin routes): the dashboard and the admin routes take it, as
/// BetterAuth's do, until the admin turns two-factor on.
#[tokio::test]
async fn a_linked_provider_opens_the_dashboard_of_an_admin_without_two_factor_until_it_is_on() {
    let stack = stack().await;
    let (mut signed_up, _) = stack.admin_with_github(false).await;
    let mut via_github = stack.signed_in_through_github().await;
    assert_eq!(
        stack.on_the_dashboard(&via_github).get("/").await.status,
        200
    );
    let r = via_github.get("/api/auth/admin/list-users").await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Two-factor turned on with the password: the provider's session no longer does.
    let (key, _) = enable_two_factor(&mut signed_up, PASSWORD).await;
    assert_eq!(
        stack.on_the_dashboard(&signed_up).get("/").await.status,
        200
    );
    sent_to_sign_in(&mut stack.on_the_dashboard(&via_github)).await;
    let r = via_github.get("/api/auth/admin/list-users").await;
    assert_eq!(r.status, 403, "{}", r.text);
    let mut dashboard = stack.on_the_dashboard(&via_github);
    dashboard_sign_in(&mut dashboard, Some(&key)).await;
    assert_eq!(dashboard.get("/").await.status, 200);
}

/// A session replaced by a new one (two-factor turned on or off, a password change ending the
/// other sessions) passes on what it proved; one that proved only the password no longer opens
/// the dashboard once the admin has turned two-factor on.
#[tokio::test]
async fn what_a_session_proved_follows_it_through_rotation_and_two_factor_changes() {
    let stack = stack().await;
    let mut api = stack.auth.client();
    api.sign_up_id("Root", EMAIL, PASSWORD).await;
    stack.auth.psql(&format!(
        r#"update "user" set "role" = 'admin' where "email" = '{EMAIL}'"#
    ));
    let mut laptop = stack.auth.client();
    laptop.sign_in(EMAIL, PASSWORD).await;
    assert_eq!(stack.on_the_dashboard(&laptop).get("/").await.status, 200);

    // Turning two-factor on from the API: the new session proved the code.
    enable_two_factor(&mut api, PASSWORD).await;
    assert_eq!(stack.on_the_dashboard(&api).get("/").await.status, 200);
    sent_to_sign_in(&mut stack.on_the_dashboard(&laptop)).await;

    // A new password ending the other sessions: the new session keeps the second factor.
    let new_password = "root-password-2";
    let r = api
        .post(
            "/api/auth/change-password",
            json!({"currentPassword": PASSWORD, "newPassword": new_password, "revokeOtherSessions": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(stack.on_the_dashboard(&api).get("/").await.status, 200);

    // Turning it off again: the password is enough once more.
    let r = api
        .post(
            "/api/auth/two-factor/disable",
            json!({"password": new_password}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(stack.on_the_dashboard(&api).get("/").await.status, 200);
}

/// A device trusted after the second factor skips it at the next sign-in, in the API as in
/// BetterAuth: that sign-in proved it as well as one with the code.
#[tokio::test]
async fn a_sign_in_on_a_trusted_device_opens_the_dashboard() {
    let stack = stack().await;
    let mut api = stack.auth.client();
    api.sign_up_id("Root", EMAIL, PASSWORD).await;
    let (key, _) = enable_two_factor(&mut api, PASSWORD).await;
    stack.auth.psql(&format!(
        r#"update "user" set "role" = 'admin' where "email" = '{EMAIL}'"#
    ));
    let mut phone = stack.auth.client();
    let r = phone.sign_in(EMAIL, PASSWORD).await;
    assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);
    let r = phone
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": totp_now(&key), "trustDevice": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    phone.post("/api/auth/sign-out", json!({})).await;

    let r = phone.sign_in(EMAIL, PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["token"].is_string(), "no challenge: {}", r.text);
    assert_eq!(stack.on_the_dashboard(&phone).get("/").await.status, 200);
}
