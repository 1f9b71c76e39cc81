//! `DATABASE_POOL_SIZE` bounds what a service opens on its PostgreSQL server: under many more
//! concurrent requests than connections, the server never sees more than the pool's size.

use std::collections::HashMap;
use std::time::Duration;

use stackr_kit::runtime::ServiceSpec;
use stackr_kit::{Flavor, ServiceRuntime};
use stackr_testkit::{TempPostgres, TempRedis};

/// The size the dev plan gives an API is of this order: small next to the load below.
const POOL_SIZE: usize = 3;
const CONCURRENT_QUERIES: usize = 40;

/// Connections the service's role holds open right now, as the server counts them.
fn connections_of(pg: &TempPostgres, role: &str) -> usize {
    pg.psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_stat_activity WHERE usename = '{role}'"),
    )
    .parse()
    .expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_never_opens_more_connections_than_database_pool_size() {
    let pg = TempPostgres::start();
    let redis = TempRedis::start_with_password(Some("svc-redis-pw"));
    let vars = HashMap::from([
        ("STACKR_SERVICE", "svc".to_owned()),
        ("PORT", "1".to_owned()),
        ("DATABASE_URL", pg.create_service_database("svc", "svc-pw")),
        ("REDIS_URL", redis.url()),
        ("STACKR_QUEUE", "svc".to_owned()),
        ("DATABASE_POOL_SIZE", POOL_SIZE.to_string()),
    ]);
    let lookup = |k: &str| vars.get(k).cloned();
    let spec = ServiceSpec {
        flavor: Flavor::None,
        roles: &[],
        provisioning: false,
        migrations: &[],
    };
    let runtime = ServiceRuntime::from_lookup(spec, &lookup).await.unwrap();
    let pool = runtime.state().db.clone();

    // Every query holds its connection for a while, so all of them are in flight together.
    let queries: Vec<_> = (0..CONCURRENT_QUERIES)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let client = pool.get().await.expect("a pooled connection");
                client.execute("SELECT pg_sleep(0.1)", &[]).await.unwrap();
            })
        })
        .collect();
    let mut most = 0;
    while !queries.iter().all(tokio::task::JoinHandle::is_finished) {
        let pg = &pg;
        most = most.max(tokio::task::block_in_place(|| connections_of(pg, "svc")));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for query in queries {
        query.await.unwrap();
    }
    assert_eq!(
        most, POOL_SIZE,
        "{CONCURRENT_QUERIES} concurrent queries may use the whole pool, and no more"
    );
    assert!(connections_of(&pg, "svc") <= POOL_SIZE);
}
