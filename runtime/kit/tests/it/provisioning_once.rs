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

/// A new user's burst of first calls, while auth is slow to answer the provisioning call, waits
/// holding one of the service's database connections, not one per call: the others still serve
/// everyone else (the pool here has three).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_first_calls_waits_for_auth_without_taking_the_pool() {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::routing::post;
    use stackr_kit::auth::AuthClient;
    use stackr_kit::config::{Credential, SecretUrl};
    use stackr_kit::provision::Provisioner;

    let pg = stackr_testkit::TempPostgres::start();
    let url = SecretUrl::new(&pg.create_service_database("svc", "svc-password")).unwrap();
    let pool = stackr_kit::db::connect(&url, None, "provisioning-burst", 3)
        .await
        .unwrap();
    stackr_kit::migrate::run(&pool, &[]).await.unwrap();
    let slow_auth = axum::Router::new().route(
        "/api/auth/provision",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(4)).await;
            axum::Json(serde_json::json!({ "provisioned": true }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let auth_url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, slow_auth).await.unwrap() });
    let auth = AuthClient::new(&auth_url, "svc", Some(Credential::new("svc-credential")));
    let provisioner = Arc::new(Provisioner::new(pool.clone(), auth));

    let burst: Vec<_> = (0..8)
        .map(|_| {
            let provisioner = provisioner.clone();
            tokio::spawn(async move {
                provisioner
                    .ensure("new-user", "better-auth.session_token=a.b")
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let someone_else = tokio::time::timeout(Duration::from_secs(2), async {
        let client = pool.get().await.unwrap();
        client.query_one("SELECT 1", &[]).await.unwrap();
    })
    .await;
    assert!(
        someone_else.is_ok(),
        "one user's first calls took every database connection while auth was slow"
    );
    for call in burst {
        call.await.unwrap().unwrap();
    }
    let rows = pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM stackr_user WHERE provisioned_at IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(rows, 1);
}

/// The user a new user's first call hands its handler has the account that call just made at
/// this service (`hasCoreAccount: true`), as every later call's does: auth's answer, read before
/// the provisioning, said false.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_calls_user_has_the_account_it_just_made() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    for call in ["first", "second"] {
        let (status, body) = stack.get("/me", &[("cookie", &alice.cookie)]).await;
        assert_eq!(status, 200, "{call}: {body}");
        assert_eq!(body["hasAccount"], true, "{call}: {body}");
    }
}
