//! What a service's PostgreSQL pool holds open on its server: never more than
//! `DATABASE_POOL_SIZE` connections, however many requests come at once, and none it has not
//! used for a while (each one is a server process).

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

/// A base service's runtime on `pg` and `redis`, with a pool of [`POOL_SIZE`].
async fn service_on(pg: &TempPostgres, redis: &TempRedis) -> ServiceRuntime {
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
    ServiceRuntime::from_lookup(spec, &lookup).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_never_opens_more_connections_than_database_pool_size() {
    let pg = TempPostgres::start();
    let redis = TempRedis::start_with_password(Some("svc-redis-pw"));
    let runtime = service_on(&pg, &redis).await;
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

/// `/health` is public and checks the database with a pooled connection: however many ask it at
/// once, it takes one, so a flood of it leaves the rest of the pool to the requests it is for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_health_checks_take_one_pooled_connection() {
    let pg = TempPostgres::start();
    let redis = TempRedis::start_with_password(Some("svc-redis-pw"));
    let runtime = service_on(&pg, &redis).await;
    let pool = runtime.state().db.clone();
    let router = runtime.router(axum::Router::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let health = format!("http://{}/health", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(stackr_kit::server::serve_on(listener, router, async move {
        let _ = stopped.await;
    }));
    // The pool opens a connection only when none is idle, so its size is the most connections
    // ever taken at once (none closes within the test: DB_POOL_IDLE_LIMIT).
    assert!(pool.status().size <= 1, "{:?}", pool.status());

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let checks: Vec<_> = (0..CONCURRENT_QUERIES)
        .map(|_| {
            let (http, health) = (http.clone(), health.clone());
            tokio::spawn(async move { http.get(health).send().await.unwrap().status() })
        })
        .collect();
    for check in checks {
        assert_eq!(check.await.unwrap(), 200);
    }
    assert_eq!(
        pool.status().size,
        1,
        "{CONCURRENT_QUERIES} concurrent /health took {} connections of the pool of {POOL_SIZE}",
        pool.status().size
    );
    let _ = stop.send(());
}

/// Connections of the service's role, counted from inside an async test.
async fn connections_now(pg: &TempPostgres) -> usize {
    tokio::task::block_in_place(|| connections_of(pg, "svc"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_left_unused_close_and_a_trickle_of_requests_keeps_one() {
    let pg = TempPostgres::start();
    let redis = TempRedis::start_with_password(Some("svc-redis-pw"));
    let runtime = service_on(&pg, &redis).await;
    let pool = runtime.state().db.clone();
    let query = |pool: stackr_kit::deadpool_postgres::Pool| async move {
        let client = pool.get().await.expect("a pooled connection");
        client.execute("SELECT pg_sleep(0.1)", &[]).await.unwrap();
    };

    // A burst opens the whole pool: every connection held at once.
    let mut burst = Vec::new();
    for _ in 0..POOL_SIZE {
        burst.push(pool.get().await.expect("a pooled connection"));
    }
    drop(burst);
    assert_eq!(connections_now(&pg).await, POOL_SIZE);

    // One request at a time, once a second, needs one connection: the others go unused and
    // close.
    let idle_and_checked = stackr_kit::DB_POOL_IDLE_LIMIT + stackr_kit::DB_POOL_IDLE_CHECK * 2;
    let trickle_ends = tokio::time::Instant::now() + idle_and_checked;
    while tokio::time::Instant::now() < trickle_ends {
        query(pool.clone()).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(
        connections_now(&pg).await,
        1,
        "a steady trickle of one request at a time keeps one connection"
    );

    // Nothing at all: no connection is held.
    tokio::time::sleep(idle_and_checked).await;
    assert_eq!(
        connections_now(&pg).await,
        0,
        "an idle service holds no server process"
    );

    // The next request connects again.
    query(pool.clone()).await;
    assert_eq!(connections_now(&pg).await, 1);
}

/// A process of the service other than its API (its worker) gets the service's own database
/// from the same environment, in one call, named after itself on the server and held to the
/// same pool size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_reaches_the_service_database_from_its_environment() {
    let pg = TempPostgres::start();
    let redis = TempRedis::start_with_password(Some("svc-redis-pw"));
    let vars = HashMap::from([
        ("STACKR_SERVICE", "svc".to_owned()),
        ("DATABASE_URL", pg.create_service_database("svc", "svc-pw")),
        ("REDIS_URL", redis.url()),
        ("DATABASE_POOL_SIZE", POOL_SIZE.to_string()),
    ]);
    let lookup = |k: &str| vars.get(k).cloned();
    let db = stackr_kit::db::connect_from_lookup("worker", &lookup)
        .await
        .unwrap();
    let client = db.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT application_name, current_user::text FROM pg_stat_activity WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1)),
        ("svc-worker".to_owned(), "svc".to_owned())
    );
    assert_eq!(db.status().max_size, POOL_SIZE);

    let missing = |k: &str| {
        (k != "DATABASE_URL")
            .then(|| vars.get(k).cloned())
            .flatten()
    };
    let error = stackr_kit::db::connect_from_lookup("worker", &missing)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("DATABASE_URL"), "{error:#}");
}
