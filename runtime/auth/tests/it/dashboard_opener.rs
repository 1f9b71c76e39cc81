//! A page of another site that opens the dashboard in a window of its own, in a real Chromium:
//! it must keep no hold on that window. With one, it could later send the admin's dashboard to a
//! look-alike sign-in page of its own (reverse tabnabbing) and take the password and the code
//! typed there.

use std::time::{Duration, Instant};

use fantoccini::Client as Browser;
use serde_json::json;

use crate::common::TestServer;
use crate::dashboard_browser::{serve, start_driver, Driver};

/// A headless Chromium running scripts (the other site's page needs them; chromedriver lets a
/// script open windows).
async fn open_browser_with_scripts(driver: &Driver) -> Browser {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]}),
    );
    fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

#[tokio::test]
async fn a_page_that_opened_the_dashboard_cannot_send_it_elsewhere() {
    let server = TestServer::start().await;
    let dash = serve(stackr_auth::admin_page::router(server.state.clone())).await;
    // The other site: another origin (`localhost`, where the dashboard is `127.0.0.1`).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let opener = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><title>opening</title></head><body><script>\
         const w = window.open(\"{dash}/login\", \"dashboard\");\
         setTimeout(() => {{ document.title = w.closed ? \"let go\" : \"held\";\
         try {{ w.location = \"{other}/look-alike\"; }} catch (e) {{}} }}, 2000);\
         </script></body></html>"
    );
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(move || async move { axum::response::Html(opener) }),
        )
        .route(
            "/look-alike",
            axum::routing::get(|| async { axum::response::Html("<title>look-alike</title>") }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });

    let driver = start_driver().await;
    let b = open_browser_with_scripts(&driver).await;
    b.goto(&format!("{other}/")).await.unwrap();
    let own = b.window().await.unwrap();
    let within = Duration::from_secs(30);
    let deadline = Instant::now() + within;
    while b.title().await.unwrap() == "opening" {
        assert!(
            Instant::now() < deadline,
            "the page did not try its window within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Time for a navigation it started to land.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = b.title().await.unwrap();
    let windows = b.windows().await.unwrap();
    assert_eq!(windows.len(), 2, "the page opened one window");
    for window in windows.into_iter().filter(|w| *w != own) {
        b.switch_to_window(window).await.unwrap();
        let url = b.current_url().await.unwrap();
        assert_eq!(
            url.as_str(),
            format!("{dash}/login"),
            "the page that opened the dashboard sent it elsewhere (it saw its window as {held:?})"
        );
    }
    assert_eq!(
        held, "let go",
        "the page still holds the dashboard's window"
    );
    b.close().await.unwrap();
}
