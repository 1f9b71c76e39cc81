//! Provisioning is idempotent under a burst of concurrent first calls: one own record, one call
//! to auth's provision endpoint.

use crate::kit_support;

use kit_support::{Stack, StackOptions};
use stackr_kit::Flavor;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_first_calls_provision_exactly_once() {
    let stack = std::sync::Arc::new(Stack::start(StackOptions::new(Flavor::Flexible)).await);
    let alice = stack.sign_up("alice").await;

    let calls = (0..20).map(|_| {
        let stack = stack.clone();
        let cookie = alice.cookie.clone();
        tokio::spawn(async move { stack.get("/me", &[("cookie", &cookie)]).await })
    });
    let answers: Vec<_> = futures_join_all(calls).await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:#?}");

    assert_eq!(
        stack.proxy.count("/api/auth/get-session"),
        20,
        "every first call asked auth (cache off)"
    );
    assert_eq!(
        stack.proxy.count("/api/auth/provision"),
        1,
        "auth was told exactly once"
    );
    assert_eq!(stack.service_sql("SELECT count(*) FROM stackr_user"), "1");
    assert_eq!(stack.auth_sql("SELECT count(*) FROM service_account"), "1");
    assert_eq!(
        stack.browser.session_user(&alice).await["hasCoreAccount"],
        true
    );
}

async fn futures_join_all<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}
