//! `/health` reflects the service's own PostgreSQL and Redis.

use crate::kit_support;

use kit_support::{Stack, StackOptions};
use stackr_kit::Flavor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_database_and_redis() {
    let mut stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    let (status, body) = stack.get("/health", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["redis"], "ok");
    assert_eq!(body["service"], "core");

    stack.redis.kill();
    let (status, body) = stack.get("/health", &[]).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["checks"]["redis"], "unavailable");
    assert_eq!(body["checks"]["database"], "ok");

    stack.pg.stop();
    let (status, body) = stack.get("/health", &[]).await;
    assert_eq!(status, 503);
    assert_eq!(body["checks"]["database"], "unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_role_cannot_reach_auths_database() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    // The service's own credentials, aimed at auth's database: refused by PostgreSQL.
    let url = format!(
        "postgres://core:core-db-pw@127.0.0.1:{}/auth",
        stack.pg.port()
    );
    let err = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .err();
    assert!(
        err.is_some(),
        "the service role must not connect to another service's database"
    );
    let own = format!(
        "postgres://core:core-db-pw@127.0.0.1:{}/core",
        stack.pg.port()
    );
    assert!(tokio_postgres::connect(&own, tokio_postgres::NoTls)
        .await
        .is_ok());
}

/// A store that is down is said once when it goes down and once when it is back, not per request:
/// `/health` is public, and anyone could otherwise fill the log with a warning per request for as
/// long as the store is down.
#[tokio::test]
async fn a_store_down_is_logged_when_it_goes_and_when_it_is_back() {
    let mut stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    let logs = stackr_testkit::CapturedLogs::start();
    let said = |what: &str| {
        logs.lines()
            .iter()
            .filter(|line| line.contains(what))
            .count()
    };
    stack.redis.kill();
    for _ in 0..20 {
        let (status, body) = stack.get("/health", &[]).await;
        assert_eq!(status, 503, "{body}");
    }
    assert_eq!(said("health: redis failing"), 1, "{:#?}", logs.lines());

    stack.redis.start_again();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while stack.get("/health", &[]).await.0 != 200 {
        assert!(std::time::Instant::now() < deadline, "redis never back");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    tokio::time::sleep(crate::kit_support::OUTAGE_QUIET).await;
    for _ in 0..5 {
        assert_eq!(stack.get("/health", &[]).await.0, 200);
    }
    assert_eq!(
        said("health: redis answering again"),
        1,
        "{:#?}",
        logs.lines()
    );
    assert_eq!(said("health: redis failing"), 1, "{:#?}", logs.lines());
}
