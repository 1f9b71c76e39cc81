//! Sign-in with the `github` preset, its endpoints replaced in the providers file by a local fake
//! GitHub (`common/github_fake.rs`, real HTTP): plain OAuth 2.0 with PKCE, the profile from
//! `/user` and the address from `/user/emails`. An address GitHub has not verified never signs
//! anyone into an existing account.

use crate::common;
use crate::common::github_fake;
use crate::common::oidc_browser;

use common::{Options, TestServer};
use github_fake::{Account, Email, GithubFake};
use oidc_browser::{app, providers_from_file, Browser};
use serde_json::json;

const PROVIDER: &str = "github";

struct Stack {
    auth: TestServer,
    github: GithubFake,
    _files: tempfile::TempDir,
}

fn accounts() -> Vec<Account> {
    vec![
        // No public address: the primary, verified one is used.
        Account {
            id: 583231,
            login: "octocat",
            name: None,
            public_email: None,
            emails: vec![
                Email {
                    email: "old@example.com",
                    primary: false,
                    verified: true,
                },
                Email {
                    email: "octocat@example.com",
                    primary: true,
                    verified: true,
                },
            ],
        },
        // Claims the victim's address as its primary one without having verified it.
        Account {
            id: 666,
            login: "mallory",
            name: Some("Mallory"),
            public_email: None,
            emails: vec![
                Email {
                    email: "victim@example.com",
                    primary: true,
                    verified: false,
                },
                Email {
                    email: "mallory@example.com",
                    primary: false,
                    verified: true,
                },
            ],
        },
        // The victim's own GitHub account, address verified.
        Account {
            id: 1001,
            login: "victim",
            name: Some("Victim"),
            public_email: Some("victim@example.com"),
            emails: vec![Email {
                email: "victim@example.com",
                primary: true,
                verified: true,
            }],
        },
    ]
}

/// The auth service configured through a providers file, as the binary reads it.
async fn stack() -> Stack {
    let github = GithubFake::start(accounts()).await;
    let files = tempfile::tempdir().unwrap();
    let secret = files.path().join("github-client-secret");
    std::fs::write(&secret, github_fake::CLIENT_SECRET).unwrap();
    let entries = json!([github.preset_entry(PROVIDER, &secret)]);
    let auth = TestServer::start_with(Options {
        oauth_providers: providers_from_file(files.path(), entries),
        ..Default::default()
    })
    .await;
    Stack {
        auth,
        github,
        _files: files,
    }
}

fn count(auth: &TestServer, sql: &str) -> i64 {
    auth.psql(sql).trim().parse().unwrap()
}

fn github_accounts(auth: &TestServer) -> i64 {
    count(
        auth,
        r#"select count(*) from "account" where "providerId" = 'github'"#,
    )
}

fn new_browser(stack: &Stack) -> Browser {
    Browser::new(
        stack.auth.client(),
        stack.auth.state.config.base(),
        &stack.github.base,
    )
}

#[tokio::test]
async fn first_sign_in_creates_a_user_from_the_primary_address_the_second_reuses_it() {
    let stack = stack().await;
    let mut browser = new_browser(&stack);
    let url = url::Url::parse(&browser.authorization_url(PROVIDER).await).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        q["scope"], "read:user user:email",
        "GitHub's scopes, no openid"
    );
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(!q.contains_key("nonce"), "no ID token, so no nonce");

    let to = app(browser
        .social_via(
            PROVIDER,
            "octocat",
            json!({"callbackURL": "/dashboard", "newUserCallbackURL": "/welcome"}),
        )
        .await);
    assert_eq!(to, "/welcome");
    let session = browser.auth.session().await;
    assert_eq!(session["user"]["email"], "octocat@example.com");
    assert_eq!(session["user"]["emailVerified"], true);
    assert_eq!(session["user"]["name"], "octocat", "no name: the login");
    assert_eq!(
        session["user"]["image"],
        "https://avatars.githubusercontent.com/u/583231?v=4"
    );
    let user_id = session["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        stack
            .auth
            .psql(r#"select "accountId" from "account" where "providerId" = 'github'"#)
            .trim(),
        "583231",
        "the account id is GitHub's numeric user id"
    );

    let mut again = new_browser(&stack);
    let to = app(again
        .social_via(
            PROVIDER,
            "octocat",
            json!({"callbackURL": "/dashboard", "newUserCallbackURL": "/welcome"}),
        )
        .await);
    assert_eq!(to, "/dashboard");
    assert_eq!(again.auth.session().await["user"]["id"], user_id.as_str());
    assert_eq!(github_accounts(&stack.auth), 1);
    let listed = again.auth.get("/api/auth/list-accounts").await;
    assert!(
        listed
            .json()
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["providerId"] == PROVIDER && a["accountId"] == "583231"),
        "{}",
        listed.text
    );
}

#[tokio::test]
async fn an_unverified_primary_address_never_takes_over_an_account() {
    let stack = stack().await;
    let mut victim = stack.auth.client();
    let r = victim
        .sign_up("Victim", "victim@example.com", "victim-password-1")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let victim_id = r.json()["user"]["id"].as_str().unwrap().to_owned();
    stack
        .auth
        .psql(r#"update "user" set "emailVerified" = true where "email" = 'victim@example.com'"#);
    let users_before = count(&stack.auth, r#"select count(*) from "user""#);

    let mut mallory = new_browser(&stack);
    let to = app(mallory
        .social_via(
            PROVIDER,
            "mallory",
            json!({"callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
        )
        .await);
    assert!(to.ends_with("/oops?error=account_not_linked"), "{to}");
    assert!(mallory.auth.session().await.is_null(), "no session");
    assert_eq!(github_accounts(&stack.auth), 0, "no account row");
    assert_eq!(
        count(&stack.auth, r#"select count(*) from "user""#),
        users_before,
        "no user"
    );

    // The same address, verified at GitHub, does link to the victim's account, once its
    // password is one the mailbox chose (a sign-up's may be a stranger's).
    stack
        .auth
        .reset_password("victim@example.com", 1, "victim-password-2")
        .await;
    let mut owner = new_browser(&stack);
    let to = app(owner
        .social_via(PROVIDER, "victim", json!({"callbackURL": "/dashboard"}))
        .await);
    assert_eq!(to, "/dashboard");
    assert_eq!(owner.auth.session().await["user"]["id"], victim_id.as_str());
    assert_eq!(github_accounts(&stack.auth), 1);
}

#[tokio::test]
async fn a_code_refused_by_github_ends_on_the_error_url() {
    let stack = stack().await;
    let mut browser = new_browser(&stack);
    let r = browser
        .post_auth(
            "/api/auth/sign-in/social",
            json!({"provider": PROVIDER, "callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
        )
        .await;
    let url = r.json()["url"].as_str().unwrap().to_owned();
    let state = oidc_browser::query_param(&url, "state");
    // A made-up code: GitHub answers 200 with `bad_verification_code`.
    let r = browser
        .auth
        .get(&format!(
            "/api/auth/callback/{PROVIDER}?code=made-up&state={state}"
        ))
        .await;
    let to = oidc_browser::location(&r);
    assert!(to.ends_with("/oops?error=invalid_code"), "{to}");
    assert!(browser.auth.session().await.is_null());
    assert_eq!(count(&stack.auth, r#"select count(*) from "user""#), 0);
}

/// Whoever reads an account's mailbox can reset its password, and can open an account at GitHub
/// with that address (GitHub verifies it by mail). With two-factor on, neither may sign in
/// without the second factor: a new GitHub identity is not linked to the account by its address
/// (a social sign-in asks for no second factor); the owner links it signed in (`link-social`).
#[tokio::test]
async fn the_mailbox_alone_does_not_link_a_provider_to_an_account_with_two_factor() {
    let stack = stack().await;
    let mut victim = stack.auth.client();
    victim
        .sign_up("Victim", "victim@example.com", "victim-password-1")
        .await;
    stack.auth.address_verified("victim@example.com");
    common::enable_two_factor(&mut victim, "victim-password-1").await;
    // The mailbox's reader resets the password; the second factor stays.
    stack
        .auth
        .reset_password("victim@example.com", 1, "mailbox-reader-1")
        .await;
    let mut reader = stack.auth.client();
    let r = reader
        .sign_in("victim@example.com", "mailbox-reader-1")
        .await;
    assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);

    let mut via_github = new_browser(&stack);
    let to = app(via_github
        .social_via(
            PROVIDER,
            "victim",
            json!({"callbackURL": "/dashboard", "errorCallbackURL": "/oops"}),
        )
        .await);
    assert!(to.ends_with("/oops?error=account_not_linked"), "{to}");
    assert!(via_github.auth.session().await.is_null(), "no session");
    assert_eq!(github_accounts(&stack.auth), 0, "no account row");
}
