//! Service `core` run for real: `cargo test` starts its API (and worker) against a
//! throwaway PostgreSQL and Redis of its own with the kit's test helper (`postgres`, `initdb` and
//! `redis-server` must be installed), with the environment `stackr dev` gives it. Grow these
//! tests with your routes.

use std::time::{Duration, Instant};

use serde_json::json;
use stackr_kit::testing::{Beside, ServiceUnderTest};
use stackr_kit::worker::JobState;

// The job names the API and the worker share.
#[path = "../src/job_names.rs"]
mod job_names;

const API: &str = env!("CARGO_BIN_EXE_core-api");

#[tokio::test]
async fn health_reports_its_own_database_and_redis() {
    let service = ServiceUnderTest::start(API, "core").await;
    let (status, body) = service.get("/health").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"], json!({ "database": "ok", "redis": "ok" }));
}

/// No auth runs here: a caller without a session is refused before auth would be asked.
#[tokio::test]
async fn routes_refuse_a_caller_without_a_session() {
    let service = ServiceUnderTest::start(API, "core").await;
    for path in ["/me", "/notes"] {
        let (status, body) = service.get(path).await;
        assert_eq!(status, 401, "{path}: {body}");
    }
}

/// With the stack's auth beside the service, routes run as a signed-in user: each user's notes
/// are their own.
#[tokio::test]
async fn notes_are_kept_for_the_signed_in_user() {
    let service = ServiceUnderTest::start_with_auth(API, "core").await;
    let ada = service.sign_up("ada@example.com").await;
    let (status, body) = service
        .post_as(&ada, "/notes", &json!({ "text": "hello" }))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = service.get_as(&ada, "/notes").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["notes"][0]["text"], "hello", "{body}");
    let bob = service.sign_up("bob@example.com").await;
    let (status, body) = service.get_as(&bob, "/notes").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["notes"], json!([]), "another user's notes: {body}");
}

/// Every note stays in the database: one user keeps at most 1000, and past that a new one is
/// refused (409), while other users still add theirs.
#[tokio::test]
async fn a_user_keeps_a_bounded_number_of_notes() {
    let service = ServiceUnderTest::start_with_auth(API, "core").await;
    let ada = service.sign_up("ada@example.com").await;
    // All but the last straight into the database: a request each would only slow the test.
    service.psql(&format!(
        "INSERT INTO note (user_id, text) SELECT '{}', 'note' FROM generate_series(1, 999)",
        ada.id
    ));
    let note = json!({ "text": "one more" });
    let (status, body) = service.post_as(&ada, "/notes", &note).await;
    assert_eq!(status, 201, "the thousandth: {body}");
    let (status, body) = service.post_as(&ada, "/notes", &note).await;
    assert_eq!(status, 409, "one too many: {body}");
    let bob = service.sign_up("bob@example.com").await;
    let (status, body) = service.post_as(&bob, "/notes", &note).await;
    assert_eq!(status, 201, "another user's: {body}");
}

/// A call to another service goes as the signed-in user: here the other service is a stand-in
/// that answers with the cookie it was sent.
#[tokio::test]
async fn a_call_to_another_service_carries_the_users_session() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let billing = format!("http://{}", listener.local_addr().unwrap());
    let stand_in = axum::Router::new().route(
        "/me",
        axum::routing::get(|headers: axum::http::HeaderMap| async move {
            let cookie = headers.get("cookie").and_then(|c| c.to_str().ok());
            axum::Json(json!({ "cookie": cookie }))
        }),
    );
    tokio::spawn(async move { axum::serve(listener, stand_in).await });
    let beside = Beside {
        auth: true,
        peers: vec![("billing".to_owned(), billing)],
    };
    let service = ServiceUnderTest::start_with(API, "core", beside).await;
    let ada = service.sign_up("ada@example.com").await;
    let (status, body) = service.get_as(&ada, "/calls/billing/me").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["answer"]["cookie"], ada.cookie(), "{body}");
}

#[tokio::test]
async fn the_worker_completes_an_example_job() {
    let mut service = ServiceUnderTest::start(API, "core").await;
    service.start_worker(env!("CARGO_BIN_EXE_core-worker"));
    let jobs = service.producer();
    let id = jobs
        .add(job_names::EXAMPLE, json!({ "message": "hello" }))
        .await
        .unwrap();
    let within = Duration::from_secs(60);
    let deadline = Instant::now() + within;
    loop {
        let status = jobs.status(&id).await.unwrap().expect("the job exists");
        if status.state == JobState::Completed {
            assert_eq!(status.return_value, Some(json!({ "echo": "hello" })));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} was not completed within {within:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
