//! Service `wallet` run for real: `cargo test` starts its API (and worker) against a
//! throwaway PostgreSQL and Redis of its own with the kit's test helper (`postgres`, `initdb` and
//! `redis-server` must be installed), with the environment `stackr dev` gives it. Grow these
//! tests with your routes.

use std::time::{Duration, Instant};

use serde_json::json;
use stackr_kit::testing::ServiceUnderTest;
use stackr_kit::worker::JobState;

// The job names the API and the worker share.
#[path = "../src/job_names.rs"]
mod job_names;

const API: &str = env!("CARGO_BIN_EXE_wallet-api");

#[tokio::test]
async fn health_reports_its_own_database_and_redis() {
    let service = ServiceUnderTest::start(API, "wallet").await;
    let (status, body) = service.get("/health").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"], json!({ "database": "ok", "redis": "ok" }));
}

/// No auth runs here: a caller without a session is refused before auth would be asked.
#[tokio::test]
async fn routes_refuse_a_caller_without_a_session() {
    let service = ServiceUnderTest::start(API, "wallet").await;
    for path in ["/me", "/notes"] {
        let (status, body) = service.get(path).await;
        assert_eq!(status, 401, "{path}: {body}");
    }
}

/// With the stack's auth beside the service, a signed-in user is who the guard judges: one
/// without any of the service's roles is refused.
#[tokio::test]
async fn a_user_without_the_role_is_refused() {
    let service = ServiceUnderTest::start_with_auth(API, "wallet").await;
    let ada = service.sign_up("ada@example.com").await;
    let (status, body) = service.get_as(&ada, "/notes").await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn the_worker_completes_an_example_job() {
    let mut service = ServiceUnderTest::start(API, "wallet").await;
    service.start_worker(env!("CARGO_BIN_EXE_wallet-worker"));
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
