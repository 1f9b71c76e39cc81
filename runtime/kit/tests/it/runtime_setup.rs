//! Start-up wiring: migrations (once, refused when edited), flavor `none` needing no auth, and
//! configuration errors that name the variable.

use std::collections::HashMap;

use axum::http::HeaderMap;
use stackr_kit::runtime::ServiceSpec;
use stackr_kit::{Flavor, GuardRejection, Migration, ServiceRuntime};
use stackr_testkit::{TempPostgres, TempRedis};

struct Env {
    pg: TempPostgres,
    redis: TempRedis,
    vars: HashMap<&'static str, String>,
}

fn base_env() -> Env {
    let pg = TempPostgres::start();
    let redis = TempRedis::start_with_password(Some("svc-redis-pw"));
    let url = pg.create_service_database("svc", "svc-pw");
    let vars = HashMap::from([
        ("STACKR_SERVICE", "svc".to_owned()),
        ("PORT", "1".to_owned()),
        ("DATABASE_URL", url),
        ("REDIS_URL", redis.url()),
        ("STACKR_QUEUE", "svc".to_owned()),
    ]);
    Env { pg, redis, vars }
}

fn spec(flavor: Flavor, migrations: &'static [Migration]) -> ServiceSpec {
    ServiceSpec {
        flavor,
        roles: &[],
        provisioning: flavor.provisions(),
        migrations,
    }
}

const V1: &[Migration] = &[Migration::new(
    "0001_things",
    "CREATE TABLE thing (id int PRIMARY KEY)",
)];
const V1_EDITED: &[Migration] = &[Migration::new(
    "0001_things",
    "CREATE TABLE thing (id bigint PRIMARY KEY)",
)];
const V2: &[Migration] = &[
    Migration::new("0001_things", "CREATE TABLE thing (id int PRIMARY KEY)"),
    Migration::new("0002_more", "ALTER TABLE thing ADD COLUMN name text"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_apply_once_in_order_and_edits_are_refused() {
    let env = base_env();
    let lookup = |k: &str| env.vars.get(k).cloned();
    // Two processes (API and worker) starting at once: the advisory lock serialises them.
    let (a, b) = tokio::join!(
        ServiceRuntime::from_lookup(spec(Flavor::None, V1), &lookup),
        ServiceRuntime::from_lookup(spec(Flavor::None, V1), &lookup)
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(
        env.pg.psql(
            "svc",
            "SELECT string_agg(name, ',' ORDER BY applied_at, name) FROM stackr_schema_migrations"
        ),
        kit_migrations_then("0001_things")
    );
    ServiceRuntime::from_lookup(spec(Flavor::None, V2), &lookup)
        .await
        .unwrap();
    assert_eq!(
        env.pg.psql(
            "svc",
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'thing'"
        ),
        "2"
    );

    let err = ServiceRuntime::from_lookup(spec(Flavor::None, V1_EDITED), &lookup)
        .await
        .err()
        .unwrap();
    assert!(
        format!("{err:#}").contains("0001_things was changed"),
        "{err:#}"
    );
    let _ = &env.redis;
}

/// `LISTEN_ADDRESS=127.0.0.1` (what dev sets): the API answers on loopback only, not on the
/// machine's other addresses (127.0.0.2 stands in for them: a loopback-only socket refuses it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_listens_only_on_its_listen_address() {
    let mut env = base_env();
    let port = stackr_testkit::free_port();
    env.vars.insert("PORT", port.to_string());
    env.vars.insert("LISTEN_ADDRESS", "127.0.0.1".to_owned());
    let vars = env.vars.clone();
    let lookup = move |k: &str| vars.get(k).cloned();
    let runtime = ServiceRuntime::from_lookup(spec(Flavor::None, &[]), &lookup)
        .await
        .unwrap();
    let serving = tokio::spawn(runtime.serve(axum::Router::new()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "never listened");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.2", port))
            .await
            .is_err(),
        "reachable on another address than LISTEN_ADDRESS"
    );
    serving.abort();

    let mut vars = env.vars.clone();
    vars.insert("LISTEN_ADDRESS", "localhost".to_owned());
    let lookup = move |k: &str| vars.get(k).cloned();
    let err = ServiceRuntime::from_lookup(spec(Flavor::None, &[]), &lookup)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("LISTEN_ADDRESS"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flavor_none_needs_no_auth_and_its_guard_refuses_to_authenticate() {
    let env = base_env();
    let lookup = |k: &str| env.vars.get(k).cloned();
    let runtime = ServiceRuntime::from_lookup(spec(Flavor::None, &[]), &lookup)
        .await
        .unwrap();
    let rejection = runtime
        .state()
        .guard
        .authenticate(&HeaderMap::new())
        .await
        .unwrap_err();
    assert_eq!(rejection, GuardRejection::NotConfigured);
}

/// A service that authenticates no one does not act as its callers either: browsers send it the
/// stack's session cookie (cookies are not kept apart by port), and it has no guard to hold
/// cross-site requests back, so its calls to other services go without that cookie. A service
/// that calls others as the user authenticates the user itself, with a guard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flavor_none_calls_other_services_without_the_users_cookie() {
    use stackr_kit::peer::ForwardedCookie;
    let billing = crate::kit_support::peer_server::peer().await;
    let mut env = base_env();
    env.vars
        .insert("SERVICE_URLS", format!("billing={billing}"));
    let lookup = |k: &str| env.vars.get(k).cloned();
    let runtime = ServiceRuntime::from_lookup(spec(Flavor::None, &[]), &lookup)
        .await
        .unwrap();
    let cookie = ForwardedCookie::new(Some(axum::http::HeaderValue::from_static(
        "better-auth.session_token=abc.def",
    )));
    let answer: serde_json::Value = runtime
        .state()
        .peers
        .get("billing", "/me", &cookie)
        .await
        .unwrap();
    assert_eq!(answer, serde_json::json!({ "cookie": null }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_name_the_variable() {
    let env = base_env();
    let without = |skip: &'static str| {
        let vars = env.vars.clone();
        move |k: &str| {
            if k == skip {
                None
            } else {
                vars.get(k).cloned()
            }
        }
    };
    let err = ServiceRuntime::from_lookup(spec(Flavor::Standard, &[]), &without(""))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("AUTH_URL"), "{err}");

    let mut vars = env.vars.clone();
    vars.insert("AUTH_URL", "http://127.0.0.1:9".into());
    let lookup = move |k: &str| vars.get(k).cloned();
    let err = ServiceRuntime::from_lookup(spec(Flavor::Flexible, &[]), &lookup)
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("SERVICE_CREDENTIAL_FILE"),
        "flexible provisions, so it needs its credential: {err}"
    );
    ServiceRuntime::from_lookup(spec(Flavor::Standard, &[]), &lookup)
        .await
        .expect("standard needs no credential");

    let err = ServiceRuntime::from_lookup(spec(Flavor::None, &[]), &without("DATABASE_URL"))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("DATABASE_URL"), "{err}");
}

/// A reply Redis takes more than half a second to produce (a loaded machine, a long stream) is
/// waited for, not failed: the redis crate's default response timeout is 500 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_redis_connection_waits_for_slow_replies() {
    let redis = TempRedis::start();
    let url = stackr_kit::config::SecretUrl::new(&redis.url()).unwrap();
    let mut conn = stackr_kit::redis_conn::connect(&url, None).await.unwrap();
    // Busy-waits inside Redis for 1.5 s, then answers.
    let busy = redis::Script::new(
        "local function now() local t = redis.call('TIME') return t[1] * 1000000 + t[2] end
         local start = now()
         while now() - start < 1500000 do end
         return 'done'",
    );
    let answer: redis::RedisResult<String> = busy.invoke_async(&mut conn).await;
    assert_eq!(answer.as_deref().map_err(ToString::to_string), Ok("done"));
}

/// A Redis restart (an upgrade, a reboot of its host) costs the service no failed command: the
/// first command on the connection Redis dropped waits for it to come back, as Node's client
/// (ioredis) queues commands while it connects again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_redis_connection_carries_on_across_a_redis_restart() {
    let redis = crate::worker_support::persisted_redis();
    let url = stackr_kit::config::SecretUrl::new(&redis.url()).unwrap();
    let mut conn = stackr_kit::redis_conn::connect(&url, None).await.unwrap();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("before")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _redis = crate::worker_support::restart(redis).await;
    let read: redis::RedisResult<String> = redis::cmd("GET").arg("k").query_async(&mut conn).await;
    assert_eq!(read.map_err(|e| e.to_string()), Ok("before".to_owned()));
}

/// The kit's migration names in order, then the service's `own` ones (comma-joined).
fn kit_migrations_then(own: &str) -> String {
    stackr_kit::migrate::KIT_MIGRATIONS
        .iter()
        .map(|m| m.name)
        .chain([own])
        .collect::<Vec<_>>()
        .join(",")
}

/// A restart finds its migrations applied and says nothing about it: PostgreSQL's notice that the
/// migrations table already exists, which the binary logged at every start, looked like a fault.
#[tokio::test]
async fn a_restart_logs_no_notice_about_the_existing_migrations_table() {
    let env = base_env();
    let lookup = |k: &str| env.vars.get(k).cloned();
    ServiceRuntime::from_lookup(spec(Flavor::None, V1), &lookup)
        .await
        .unwrap();
    let logs = stackr_testkit::CapturedLogs::start();
    ServiceRuntime::from_lookup(spec(Flavor::None, V1), &lookup)
        .await
        .unwrap();
    let notices = logs.lines_containing("NOTICE");
    assert!(notices.is_empty(), "{notices:#?}");
    let _ = &env.redis;
}
