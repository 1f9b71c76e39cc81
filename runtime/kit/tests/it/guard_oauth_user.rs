//! A user who signed in through a provider (the GitHub preset, pointed at a local fake GitHub)
//! passes a base service's guard exactly like an email/password user: the guard forwards the
//! session cookie to auth and gets the same identity back.

use crate::github_fake;
use crate::kit_support;

use github_fake::{Account, Email, GithubFake};
use kit_support::{Stack, StackOptions};
use stackr_kit::Flavor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signed_in_with_github_passes_the_standard_guard() {
    let github = GithubFake::start(vec![Account {
        id: 583231,
        login: "octocat",
        name: Some("The Octocat"),
        public_email: None,
        emails: vec![Email {
            email: "octocat@example.com",
            primary: true,
            verified: true,
        }],
    }])
    .await;
    let files = tempfile::tempdir().unwrap();
    let secret = files.path().join("github-client-secret");
    std::fs::write(&secret, github_fake::CLIENT_SECRET).unwrap();
    let list = files.path().join("providers.json");
    let entries = serde_json::json!([github.preset_entry("github", &secret)]);
    std::fs::write(&list, entries.to_string()).unwrap();
    let providers = stackr_auth::oauth::providers::load(&list).unwrap();
    let stack = Stack::start(StackOptions::new(Flavor::Standard).oauth_providers(providers)).await;

    let octocat = stack
        .browser
        .social_sign_in("github", &github.base, "octocat")
        .await;
    let (status, body) = stack.get("/me", &[("cookie", &octocat.cookie)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], octocat.user_id.as_str());
    assert_eq!(body["email"], "octocat@example.com");

    // And a password user of the same stack, side by side.
    let alice = stack.sign_up("alice").await;
    let (status, body) = stack.get("/me", &[("cookie", &alice.cookie)]).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["id"], octocat.user_id.as_str());
}
