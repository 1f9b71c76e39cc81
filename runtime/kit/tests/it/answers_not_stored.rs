//! A base service's answers are the signed-in user's own (their identity, their data, a new
//! device token): without a caching rule, a shared cache in front of the service (a proxy told to
//! cache what it may) could keep one user's answer and give it to the next caller of the same
//! URL, whose cookie it does not look at. Answers whose handler set no rule say `no-store`.

use crate::kit_support::{Stack, StackOptions};
use reqwest::header::CACHE_CONTROL;
use reqwest::Method;
use stackr_kit::Flavor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_about_a_user_are_never_stored_by_caches() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let caching_rule = |method: Method, path: &str, headers: &[(&str, &str)]| {
        let mut request = http.request(method, format!("{}{path}", stack.service_url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        async move {
            let answer = request.send().await.unwrap();
            let rule = answer
                .headers()
                .get(CACHE_CONTROL)
                .map(|v| v.to_str().unwrap().to_owned());
            (answer.status().as_u16(), rule)
        }
    };
    let cookie = [("cookie", alice.cookie.as_str())];
    let from_page = [
        ("cookie", alice.cookie.as_str()),
        ("origin", stack.trusted_origin()),
    ];
    let (status, rule) = caching_rule(Method::POST, "/device-sessions", &from_page).await;
    assert_eq!(
        (status, rule.as_deref()),
        (201, Some("no-store")),
        "new device token"
    );
    let token = stack.create_device_session(&alice).await;
    let device = [("x-device-session-token", token.as_str())];
    for (path, headers) in [
        ("/me", &cookie[..]),
        ("/device-sessions", &cookie[..]),
        ("/flex/me", &device[..]),
        ("/me", &[][..]),
    ] {
        let (status, rule) = caching_rule(Method::GET, path, headers).await;
        assert_eq!(rule.as_deref(), Some("no-store"), "GET {path} ({status})");
    }
}
