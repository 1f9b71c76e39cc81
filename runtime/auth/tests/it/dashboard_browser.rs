//! The admin dashboard in a real Chromium with JavaScript disabled, driven over WebDriver
//! (Debian's `chromium` and `chromium-driver` packages): an admin signs in with 2FA, searches a
//! user, promotes them, bans them (and the ban holds at get-session, what base services ask),
//! ends sessions and reads the audit log; a non-admin is refused; a cross-site form post is
//! refused; Tab reaches every control in order, with a visible focus. Screenshots of the main pages go to `target/tmp/dashboard-screenshots/`.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use fantoccini::{Client as Browser, Locator};
use serde_json::json;

/// A chromedriver on a free port; killed on drop.
pub(crate) struct Driver {
    child: std::process::Child,
    pub(crate) url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn start_driver() -> Driver {
    let port = stackr_testkit::free_port();
    let child = std::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("chromedriver must be installed: apt-get install chromium chromium-driver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let within = Duration::from_secs(60);
    let deadline = Instant::now() + within;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on {port} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver
}

/// A headless Chromium with JavaScript switched off.
async fn open_browser(driver: &Driver) -> Browser {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"],
            "prefs": {"profile.managed_default_content_settings.javascript": 2},
        }),
    );
    fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// Serves the dashboard on a loopback port; returns its base URL.
pub(crate) async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn fill(b: &Browser, id: &str, text: &str) {
    let field = match b.find(Locator::Id(id)).await {
        Ok(f) => f,
        Err(e) => panic!("no #{id} ({e}) on {}", b.source().await.unwrap()),
    };
    field.send_keys(text).await.unwrap();
}

/// Clicks `css` and waits until the browser has left the page (the old body goes stale), so the
/// next look at the page sees the answer to the click.
async fn submit(b: &Browser, css: &str) {
    let old_body = b.find(Locator::Css("body")).await.unwrap();
    b.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap();
    let within = Duration::from_secs(30);
    let deadline = Instant::now() + within;
    while old_body.text().await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "clicking {css} did not lead to a new page within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a keyboard user can act on: links, buttons and visible form controls.
const CONTROLS: &str = "a[href], button, input:not([type='hidden']), select, textarea";

/// Pressing Tab from the top of a freshly loaded page (or from its `autofocus` control, which
/// starts with the focus) moves the focus through every control in document order, and the
/// focused control shows the dashboard's focus outline.
async fn assert_keyboard_reaches_every_control(b: &Browser, page: &str) {
    let controls = b.find_all(Locator::Css(CONTROLS)).await.unwrap();
    assert!(
        controls.len() >= 3,
        "{page}: too few controls to be a real page"
    );
    for (i, expected) in controls.iter().enumerate() {
        let current = b.active_element().await.unwrap();
        let autofocused = i == 0 && current.element_id() == expected.element_id();
        if !autofocused {
            current
                .send_keys(&fantoccini::key::Key::Tab.to_string())
                .await
                .unwrap();
        }
        let focused = b.active_element().await.unwrap();
        assert_eq!(
            focused.element_id(),
            expected.element_id(),
            "{page}: Tab number {} should reach {} but reached {}",
            i + 1,
            expected.html(false).await.unwrap(),
            focused.html(false).await.unwrap()
        );
        let outline = (
            focused.css_value("outline-style").await.unwrap(),
            focused.css_value("outline-width").await.unwrap(),
        );
        assert_eq!(
            (outline.0.as_str(), outline.1.as_str()),
            ("solid", "3px"),
            "{page}: no visible focus on {}",
            focused.html(false).await.unwrap()
        );
    }
}

async fn page_text(b: &Browser) -> String {
    b.find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn screenshot(b: &Browser, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), b.screenshot().await.unwrap()).unwrap();
}

#[tokio::test]
async fn an_admin_manages_users_in_a_real_browser_without_javascript() {
    let server = TestServer::start().await;
    let dash = serve(stackr_auth::admin_page::router(server.state.clone())).await;
    let mut root = server.client();
    root.sign_up("Root", "root@example.com", "password-123")
        .await;
    let (key, _) = enable_two_factor(&mut root, "password-123").await;
    server.psql(r#"update "user" set "role" = 'admin' where "email" = 'root@example.com'"#);
    let mut uma = server.client();
    let uid = uma
        .sign_up("Uma <b>", "uma@example.com", "password-123")
        .await
        .json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .client()
        .sign_up("Pat", "pat@example.com", "password-123")
        .await;
    let driver = start_driver().await;
    let b = open_browser(&driver).await;

    b.goto(&format!("{dash}/")).await.unwrap();
    assert_eq!(b.current_url().await.unwrap().path(), "/login");
    screenshot(&b, "sign-in.png").await;
    assert_keyboard_reaches_every_control(&b, "the sign-in page").await;
    fill(&b, "email", "root@example.com").await;
    fill(&b, "password", "password-123").await;
    submit(&b, "form[action='/login'] button").await;
    fill(&b, "code", &totp_now(&key)).await;
    submit(&b, "form[action='/login/two-factor'] button").await;
    assert_eq!(b.current_url().await.unwrap().path(), "/");
    let text = page_text(&b).await;
    assert!(text.contains("Uma <b>"), "names show as text: {text}");

    fill(&b, "q", "uma").await;
    submit(&b, "form[role='search'] button").await;
    let text = page_text(&b).await;
    assert!(
        text.contains("uma@example.com") && !text.contains("pat@example.com"),
        "{text}"
    );
    screenshot(&b, "users.png").await;
    assert_keyboard_reaches_every_control(&b, "the user list").await;
    submit(&b, "a[href^='/users/']").await;
    assert_eq!(
        b.current_url().await.unwrap().path(),
        format!("/users/{uid}")
    );
    for role in ["user", "admin"] {
        b.find(Locator::Css(&format!("input[name='role'][value='{role}']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    submit(&b, "input[value='set-role'] ~ p button").await;
    assert!(page_text(&b).await.contains("The roles were changed."));
    assert_eq!(uma.session().await["user"]["role"], "admin");

    assert_keyboard_reaches_every_control(&b, "a user's page").await;
    fill(&b, "ban-reason", "spam").await;
    assert!(
        b.find(Locator::Css("#ban-confirm:invalid")).await.is_ok(),
        "the browser holds the ban back until its confirmation is ticked"
    );
    b.find(Locator::Css("label[for='ban-confirm']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    submit(&b, "input[value='ban'] ~ p button").await;
    assert!(page_text(&b).await.contains("The user was banned"));
    assert_eq!(
        uma.get("/api/auth/get-session").await.json(),
        json!(null),
        "base services asking get-session see the ban at once"
    );
    screenshot(&b, "user.png").await;
    submit(&b, "input[value='unban'] ~ p button").await;
    uma.sign_in("uma@example.com", "password-123").await;
    submit(&b, "input[value='revoke-sessions'] ~ p button").await;
    assert!(page_text(&b).await.contains("All sessions were ended."));
    assert_eq!(uma.get("/api/auth/get-session").await.json(), json!(null));

    submit(&b, "a[href='/audit']").await;
    let text = page_text(&b).await;
    for action in ["set-role", "ban-user", "unban-user", "revoke-user-sessions"] {
        assert!(text.contains(action), "{action} in the audit log: {text}");
    }
    screenshot(&b, "audit.png").await;

    // A page on another site posting to the dashboard (the admin's cookies go along).
    let forged = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><title>win</title></head><body>\
         <form method=\"post\" action=\"{dash}/users/{uid}\"><input type=\"hidden\" name=\"action\" value=\"set-role\">\
         <input type=\"hidden\" name=\"role\" value=\"user\"><input type=\"hidden\" name=\"csrf\" value=\"guess\">\
         <button type=\"submit\">Claim prize</button></form></body></html>"
    );
    let evil = serve(axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(forged) }),
    ))
    .await;
    b.goto(&format!("{evil}/")).await.unwrap();
    submit(&b, "button").await;
    assert!(page_text(&b).await.contains("cross-site request"));
    assert_eq!(
        server.psql(&format!(
            r#"select "role" from "user" where "id" = '{uid}'"#
        )),
        "admin",
        "the forged post changed nothing"
    );

    b.goto(&format!("{dash}/")).await.unwrap();
    submit(&b, "form[action='/logout'] button").await;
    assert_eq!(b.current_url().await.unwrap().path(), "/login");
    fill(&b, "email", "pat@example.com").await;
    fill(&b, "password", "password-123").await;
    submit(&b, "form[action='/login'] button").await;
    assert!(page_text(&b).await.contains("not an admin"));
    screenshot(&b, "refused.png").await;
    b.close().await.unwrap();
}
