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
