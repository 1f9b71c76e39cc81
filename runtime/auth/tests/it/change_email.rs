//! `change-email` end to end through the dev mailbox: the link goes to the new address and
//! changes the account's address once; a replayed link, a link for an address someone took in
//! the meantime and a request for an address already in use change nothing (and the latter sends
//! no mail, so the answer reveals nothing).

use crate::common;

use common::*;
use serde_json::json;

/// The path and query of `link` (mailed with the server's base URL).
fn path_of(link: &str) -> String {
    let url = url::Url::parse(link).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

#[tokio::test]
async fn the_new_address_is_set_once_by_the_link_mailed_to_it() {
    let server = TestServer::start().await;
    let mut cam = server.client();
    cam.sign_up("Cam", "cam@example.com", "password-123").await;
    let r = cam
        .post(
            "/api/auth/change-email",
            json!({"newEmail": "Cam.New@example.com"}),
        )
        .await;
    assert_eq!((r.status, r.json()), (200, json!({"status": true})));
    assert_eq!(
        cam.session().await["user"]["email"],
        "cam@example.com",
        "not before the link"
    );

    let link = server.wait_for_link("cam.new@example.com", 1).await;
    let r = server.client().get(&path_of(&link)).await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert_eq!(cam.session().await["user"]["email"], "cam.new@example.com");
    assert_eq!(
        cam.sign_in("cam.new@example.com", "password-123")
            .await
            .status,
        200,
        "the new address signs in"
    );

    let r = server.client().get(&path_of(&link)).await;
    assert_eq!(r.status, 302);
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .ends_with("error=INVALID_TOKEN"),
        "a replayed link is refused: {:?}",
        r.headers["location"]
    );
    assert_eq!(cam.session().await["user"]["email"], "cam.new@example.com");
}

#[tokio::test]
async fn an_address_in_use_is_never_taken_over() {
    let server = TestServer::start().await;
    let mut cam = server.client();
    cam.sign_up("Cam", "cam@example.com", "password-123").await;
    server
        .client()
        .sign_up("Used", "used@example.com", "password-123")
        .await;
    let r = cam
        .post(
            "/api/auth/change-email",
            json!({"newEmail": "USED@example.com"}),
        )
        .await;
    assert_eq!(
        (r.status, r.json()),
        (200, json!({"status": true})),
        "the same answer as for a free address"
    );

    // A free address asked for, then taken by someone else before the link is opened.
    let r = cam
        .post(
            "/api/auth/change-email",
            json!({"newEmail": "late@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let link = server.wait_for_link("late@example.com", 1).await;
    server
        .client()
        .sign_up("Late", "late@example.com", "password-123")
        .await;
    let r = server
        .client()
        .get(&path_of(&link).replace("&callbackURL=%2F", ""))
        .await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (422, Some("USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL")),
        "{}",
        r.text
    );
    assert_eq!(cam.session().await["user"]["email"], "cam@example.com");
    assert!(
        !server
            .mails()
            .iter()
            .any(|m| m.contains("To: used@example.com")),
        "no mail to an address in use"
    );
}
