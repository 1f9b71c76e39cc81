//! Sign-in with the `google` preset, its endpoints replaced in the providers file by those of a
//! real OpenID provider run locally (oidc-provider, sending the profile claims in the ID token as
//! Google does): Google's scopes and parameters, an ID token checked against the preset's issuer
//! and key set, and the profile read from it.

use crate::common;
use crate::common::node;
use crate::common::oidc_browser;

use common::{Options, TestServer};
use node::OidcProvider;
use oidc_browser::{app, providers_from_file, query_param, Browser, CLIENT_ID, CLIENT_SECRET};
use serde_json::json;

const PROVIDER: &str = "google";

/// The auth service with the `google` preset pointed at a local OpenID provider that puts the
/// profile claims in the ID token, as Google does.
async fn google_and_auth() -> (OidcProvider, TestServer, String) {
    let op_port = stackr_testkit::free_port();
    let issuer = format!("http://127.0.0.1:{op_port}");
    let files = tempfile::tempdir().unwrap();
    let secret = files.path().join("google-client-secret");
    std::fs::write(&secret, CLIENT_SECRET).unwrap();
    let entry = json!({
        "providerId": PROVIDER,
        "preset": "google",
        "clientId": CLIENT_ID,
        "clientSecretFile": secret,
        "endpoints": {
            "issuer": issuer,
            "authorization": format!("{issuer}/auth"),
            "token": format!("{issuer}/token"),
            "jwks": format!("{issuer}/jwks"),
        }
    });
    let auth = TestServer::start_with(Options {
        oauth_providers: providers_from_file(files.path(), json!([entry])),
        ..Default::default()
    })
    .await;
    let redirect_uri = stackr_auth::oauth::redirect_uri(&auth.state.config.base(), PROVIDER);
    let op = tokio::task::spawn_blocking(move || {
        OidcProvider::start(op_port, CLIENT_ID, CLIENT_SECRET, &[redirect_uri])
    })
    .await
    .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{issuer}/test/claims-in-id-token"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    (op, auth, issuer)
}

#[tokio::test]
async fn google_preset_signs_in_from_the_id_token() {
    let (op, auth, _) = google_and_auth().await;
    let mut browser = Browser::new(auth.client(), auth.state.config.base(), &op.issuer());
    let url = browser.authorization_url(PROVIDER).await;
    assert_eq!(query_param(&url, "scope"), "email profile openid");
    assert_eq!(query_param(&url, "include_granted_scopes"), "true");
    assert_eq!(query_param(&url, "code_challenge_method"), "S256");
    assert!(!query_param(&url, "nonce").is_empty());

    let to = app(browser
        .social_via(PROVIDER, "bob", json!({"callbackURL": "/dashboard"}))
        .await);
    assert_eq!(to, "/dashboard");
    let session = browser.auth.session().await;
    assert_eq!(session["user"]["email"], "bob@example.com");
    assert_eq!(session["user"]["name"], "Bob Provider");
    assert_eq!(session["user"]["emailVerified"], true);
    assert_eq!(
        auth.psql(r#"select "accountId" from "account" where "providerId" = 'google'"#)
            .trim(),
        "bob"
    );
}

/// Without a userinfo endpoint, `account-info` describes the account from the stored ID token,
/// which must be one this service verified. A refresh answers a new ID token: one that fails
/// verification (here a forged address under the provider's old signature) fails the refresh,
/// and is neither described nor stored.
#[tokio::test]
async fn a_refreshed_id_token_is_verified_before_it_is_believed() {
    let (op, auth, issuer) = google_and_auth().await;
    let mut browser = Browser::new(auth.client(), auth.state.config.base(), &op.issuer());
    let to = app(browser
        .social_via(PROVIDER, "bob", json!({"callbackURL": "/dashboard"}))
        .await);
    assert_eq!(to, "/dashboard");
    let stored = || {
        auth.psql(r#"select "idToken" from "account" where "providerId" = 'google'"#)
            .trim()
            .to_owned()
    };
    let before = stored();
    let r = reqwest::Client::new()
        .post(format!("{issuer}/test/id-token"))
        .body("tampered")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    auth.psql(
        r#"update "account" set "accessTokenExpiresAt" = now() - interval '1 minute'
           where "providerId" = 'google'"#,
    );
    let row = auth
        .psql(r#"select "id" from "account" where "providerId" = 'google'"#)
        .trim()
        .to_owned();
    let r = browser
        .auth
        .get(&format!("/api/auth/account-info?accountId={row}"))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, "FAILED_TO_GET_ACCESS_TOKEN".to_owned()),
        "{}",
        r.text
    );
    assert_eq!(stored(), before, "the forged ID token was stored");
}
