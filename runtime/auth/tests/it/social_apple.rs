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

/// A fake Apple and an auth service configured with it.
async fn apple_and_auth() -> (AppleFake, TestServer) {
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
    (apple, auth)
}

#[tokio::test]
async fn apple_preset_signs_in_through_a_form_post_with_a_signed_client_secret() {
    let (apple, auth) = apple_and_auth().await;

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

/// Apple's `user` travels through the browser (a form Apple's page posts), so whoever signs in
/// writes the name in it. It is held to the rules of a name typed in at sign-up: no NUL (which
/// PostgreSQL cannot store: the sign-in failed with a server error) and at most the name's cap of
/// characters (a name of tens of kilobytes was stored and then carried by every get-session).
#[tokio::test]
async fn a_name_posted_through_the_browser_is_held_to_the_caps_of_a_typed_one() {
    let (apple, auth) = apple_and_auth().await;
    let mut browser = Browser::new(auth.client(), auth.state.config.base(), &apple.base);
    let url = browser.authorization_url(PROVIDER).await;
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let (_, fields) = oidc_browser::provider_form(&page, "");
    let field = |name: &str| {
        fields.iter().find(|(n, _)| n == name).map_or_else(
            || panic!("no {name} in Apple's form: {page}"),
            |(_, v)| v.clone(),
        )
    };
    let long = "x".repeat(5000);
    let user = json!({"name": {"firstName": format!("Ada\u{0}{long}"), "lastName": "Lovelace"}});
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("state", &field("state"))
        .append_pair("code", &field("code"))
        .append_pair("user", &user.to_string())
        .finish();
    let r = browser
        .auth
        .get(&format!("/api/auth/callback/{PROVIDER}?{query}"))
        .await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert!(
        !oidc_browser::location(&r).contains("error="),
        "{}",
        oidc_browser::location(&r)
    );
    let session = browser.auth.session().await;
    let name = session["user"]["name"].as_str().unwrap();
    assert!(!name.contains('\0'), "{name:?}");
    assert!(name.starts_with("Adaxxx"), "{name:?}");
    assert_eq!(
        name.chars().count(),
        stackr_auth::body::max_chars("name").unwrap()
    );
}

/// What a provider answers is stored in PostgreSQL text, which cannot hold a NUL: the subject
/// (the account's `accountId`) and the token answer's `scope`. One holding a NUL makes a sign-in
/// the service cannot record, refused as such (it was answered with a server error): a subject,
/// like any profile the service cannot use, `unable_to_get_user_info`; a scope, like any token
/// answer it cannot use, `invalid_code`. Nothing is created.
#[tokio::test]
async fn a_nul_in_what_the_provider_answers_refuses_the_sign_in() {
    for (nul_in, code) in [
        ("subject", "unable_to_get_user_info"),
        ("scope", "invalid_code"),
    ] {
        let (apple, auth) = apple_and_auth().await;
        match nul_in {
            "subject" => apple.issue_subject("001234.\u{0}abcdef"),
            _ => apple.answer_scope("openid\u{0} email"),
        }
        let mut browser = Browser::new(auth.client(), auth.state.config.base(), &apple.base);
        let to = app(browser
            .social_via(
                PROVIDER,
                "ada",
                json!({"callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
            )
            .await);
        assert_eq!(to, format!("/oops?error={code}"), "a NUL in the {nul_in}");
        assert_eq!(browser.auth.session().await, json!(null));
        assert_eq!(
            auth.psql(r#"select count(*) from "user""#).trim(),
            "0",
            "a NUL in the {nul_in}"
        );
    }
}

/// Apple's page posts the browser back from its own origin. The `SameSite=Lax` cookies of this
/// service stay behind on that cross-site POST, but a cookie set without `SameSite` on the same
/// host (by an app sharing it) travels with it in Safari and Firefox. The POST only sends the
/// browser on to the GET callback, which reads the state cookie, so it needs no trusted origin:
/// refusing it (`403 INVALID_ORIGIN`) ended the sign-in of every such browser.
#[tokio::test]
async fn a_form_post_carrying_a_cookie_from_apples_origin_goes_on_to_the_callback() {
    let (apple, auth) = apple_and_auth().await;
    let mut browser = Browser::new(auth.client(), auth.state.config.base(), &apple.base);
    let url = browser.authorization_url(PROVIDER).await;
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let (_, fields) = oidc_browser::provider_form(&page, "");
    let posted = browser
        .auth
        .raw()
        .post(browser.auth.url(&format!("/api/auth/callback/{PROVIDER}")))
        .header("origin", "https://appleid.apple.com")
        .header("cookie", "app_locale=en")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 302, "{}", posted.text().await.unwrap());
    let next = posted.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        next.contains(&format!("/api/auth/callback/{PROVIDER}?")),
        "{next}"
    );
    let to = browser.open(&next).await;
    assert_eq!(to.status, 302, "{}", to.text);
    assert!(
        !oidc_browser::location(&to).contains("error="),
        "{}",
        oidc_browser::location(&to)
    );
    let session = browser.auth.session().await;
    assert_eq!(session["user"]["email"], apple_fake::USER_EMAIL);
}
