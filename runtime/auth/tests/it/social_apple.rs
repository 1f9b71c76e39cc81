//! Sign-in with the `apple` preset, its endpoints replaced in the providers file by a local fake
//! Apple (`common/apple_fake.rs`, real HTTP): Apple's scopes and response mode, the browser
//! posted back to the callback (form_post), a client secret this service signs with the
//! developer's key for the token request, the profile from the verified ID token and the name
//! from the `user` field Apple posts.

use crate::common;
use crate::common::apple_fake;
use crate::common::oidc_browser;

use apple_fake::AppleFake;
use common::{Options, TestServer};
use oidc_browser::{app, providers_from_file, query_param, Browser};
use serde_json::json;

const PROVIDER: &str = "apple";

#[tokio::test]
async fn apple_preset_signs_in_through_a_form_post_with_a_signed_client_secret() {
    let apple = AppleFake::start().await;
    let files = tempfile::tempdir().unwrap();
    let key = files.path().join("apple-private-key");
    std::fs::write(&key, apple_fake::CLIENT_KEY).unwrap();
    let entries = json!([apple.preset_entry(PROVIDER, &key)]);
    let auth = TestServer::start_with(Options {
        oauth_providers: providers_from_file(files.path(), entries),
        ..Default::default()
    })
    .await;

    let mut browser = Browser::new(auth.client(), auth.state.config.base(), &apple.base);
    let url = browser.authorization_url(PROVIDER).await;
    assert_eq!(query_param(&url, "scope"), "email name");
    assert_eq!(query_param(&url, "response_type"), "code id_token");
    assert_eq!(query_param(&url, "response_mode"), "form_post");
    assert!(
        !url.contains("code_challenge"),
        "Apple takes no PKCE: {url}"
    );

    let to = app(browser
        .social_via(
            PROVIDER,
            "ada",
            json!({"callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
        )
        .await);
    assert_eq!(to, "/dashboard");
    let session = browser.auth.session().await;
    assert_eq!(session["user"]["email"], apple_fake::USER_EMAIL);
    assert_eq!(session["user"]["emailVerified"], true, "Apple's \"true\"");
    assert_eq!(session["user"]["name"], "Ada Lovelace");
    assert_eq!(
        auth.psql(r#"select "accountId" from "account" where "providerId" = 'apple'"#)
            .trim(),
        apple_fake::USER_SUB
    );
    // Each token request carried a secret signed afresh (the fake refuses any other).
    let requests = apple.token_requests();
    assert!(!requests.is_empty());
    assert!(requests.iter().all(|r| !r.contains_key("code_verifier")));
}
