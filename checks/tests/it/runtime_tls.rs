//! TLS between hosts, with real servers presenting certificates of a deployment CA made by
//! `stackr secrets`: the kit's and auth's PostgreSQL connections (`sslmode=verify-full`), the
//! kit's Redis and queue (`rediss://`), auth serving HTTPS to the guard's client. With another
//! deployment's CA, or for another host's name or address, each fails at once with the reason.

use std::time::{Duration, Instant};

use stackr_auth::config::Secret;
use stackr_auth::{AppState, AuthConfig};
use stackr_checks::tls_servers::{path_str, postgres_serving, Deployment, TlsRedis};
use stackr_contract::env as contract;
use stackr_kit::config::SecretUrl;
use stackr_kit::worker::QueueConfig;
use stackr_kit::AuthClient;
use stackr_tls::refusal::tls_refused;
use stackr_tls::TrustedCa;

/// The hosts of the deployment, on loopback addresses of their own.
const HOSTS: &[(&str, &str)] = &[("data", "127.0.0.2"), ("gate", "127.0.0.3")];
/// A refusal must not wait out the start-up retries (30 s) of a server that is not up yet.
const PROMPTLY: Duration = Duration::from_secs(10);

fn trusted(deployment: &Deployment) -> TrustedCa {
    TrustedCa::from_file(&deployment.ca_bundle(), contract::TLS_CA_FILE).expect("the CA bundle")
}

/// `role`'s URL at PostgreSQL (on 127.0.0.1) verified as `host`.
fn database_url(port: u16, role: &str, host: &str) -> String {
    format!(
        "postgres://{role}:{role}-pw@{host}:{port}/{role}?hostaddr=127.0.0.1&sslmode=verify-full"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kit_database_is_tls_verified_by_the_deployment_ca_and_host_name() {
    let deployment = Deployment::create(HOSTS);
    let stranger = Deployment::create(HOSTS);
    let postgres = postgres_serving(&deployment, "data");
    postgres.create_service_database("core", "core-pw");
    let url = |host: &str| SecretUrl::new(&database_url(postgres.port(), "core", host)).unwrap();

    let pool = stackr_kit::db::connect(&url("data"), Some(&trusted(&deployment)), "core", 2)
        .await
        .expect("the service reaches its database over TLS with the deployment CA");
    let row = pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "the session is not TLS");

    // As the NixOS units write it: the CA named in the URL itself.
    let with_root = format!(
        "{}&sslrootcert={}",
        database_url(postgres.port(), "core", "data"),
        path_str(&deployment.ca_bundle())
    );
    stackr_kit::db::connect(&SecretUrl::new(&with_root).unwrap(), None, "core", 1)
        .await
        .expect("sslrootcert in DATABASE_URL is trusted");

    for (what, host, ca) in [
        ("another deployment's CA", "data", trusted(&stranger)),
        ("another host's name", "gate", trusted(&deployment)),
    ] {
        let started = Instant::now();
        let err = stackr_kit::db::connect(&url(host), Some(&ca), "core", 1)
            .await
            .expect_err(what);
        let message = format!("{err:#}");
        assert!(
            message.contains("invalid peer certificate")
                && message.contains("issued by the trusted CA for this host name"),
            "{what}: {message}"
        );
        assert!(
            started.elapsed() < PROMPTLY,
            "{what}: refused only after {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_reads_its_database_over_tls_and_serves_https_to_the_guard() {
    let deployment = Deployment::create(HOSTS);
    let stranger = Deployment::create(HOSTS);
    let postgres = postgres_serving(&deployment, "data");
    postgres.create_service_database("auth", "auth-pw");
    let (database, database_tls) = stackr_tls::postgres::config(
        &database_url(postgres.port(), "auth", "data"),
        Some(&trusted(&deployment)),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.3", 0))
        .await
        .unwrap();
    let auth_url = url::Url::parse(&format!("https://{}", listener.local_addr().unwrap())).unwrap();
    let mut config = AuthConfig::new(
        Secret::new(b"runtime-tls-secret-0123456789abcdef0123456789".to_vec()),
        database,
        auth_url.clone(),
    );
    config.database_tls = database_tls;
    let state = AppState::connect(config)
        .await
        .expect("auth connects and migrates over TLS");
    let https = stackr_tls::server::server_config(
        &deployment.host_cert("gate"),
        &deployment.host_key("gate"),
    )
    .unwrap();
    tokio::spawn(stackr_auth::server::serve_tls(listener, https, state));

    let guard = AuthClient::trusting(&auth_url, "core", None, Some(&trusted(&deployment)));
    assert_eq!(
        guard
            .get_session("better-auth.session_token=none")
            .await
            .unwrap(),
        None,
        "auth answers the guard over HTTPS"
    );

    let fooled = AuthClient::trusting(&auth_url, "core", None, Some(&trusted(&stranger)));
    let err = fooled
        .get_session("better-auth.session_token=none")
        .await
        .expect_err("a certificate of another deployment's CA is refused");
    assert!(tls_refused(&err).is_some(), "not refused by TLS: {err:?}");
    // Plain HTTP to the HTTPS port gets no answer either.
    let plain = url::Url::parse(&auth_url.as_str().replace("https://", "http://")).unwrap();
    assert!(AuthClient::new(&plain, "core", None)
        .get_session("better-auth.session_token=none")
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kit_redis_and_queue_are_tls_verified_by_the_deployment_ca_and_address() {
    let deployment = Deployment::create(HOSTS);
    let stranger = Deployment::create(HOSTS);
    // Also on 127.0.0.1, an address the certificate does not name.
    let redis = TlsRedis::start(&deployment, "data", &["127.0.0.2", "127.0.0.1"], "redis-pw");
    let url = |address: &str| format!("rediss://:redis-pw@{address}:{}", redis.port());

    let mut conn = stackr_kit::redis_conn::connect(
        &SecretUrl::new(&url("127.0.0.2")).unwrap(),
        Some(&trusted(&deployment)),
    )
    .await
    .expect("the service reaches its Redis over TLS with the deployment CA");
    stackr_kit::redis_conn::ping(&mut conn).await.unwrap();

    // The queue (bullmq-official's own connections) over the same TLS, CA from TLS_CA_FILE.
    let ca_file = path_str(&deployment.ca_bundle());
    let redis_url = url("127.0.0.2");
    let queue = QueueConfig::from_lookup(&|var| match var {
        contract::REDIS_URL => Some(redis_url.clone()),
        contract::STACKR_QUEUE => Some("tls".into()),
        contract::TLS_CA_FILE => Some(ca_file.clone()),
        _ => None,
    })
    .unwrap();
    let producer = stackr_kit::worker::Producer::new(queue);
    let id = producer
        .add("greet", serde_json::json!({ "over": "tls" }))
        .await
        .expect("a job is enqueued over TLS");
    let exists: bool = redis::cmd("EXISTS")
        .arg(format!("bull:tls:{id}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(exists, "job {id} is not in Redis");

    for (what, address, ca) in [
        ("another deployment's CA", "127.0.0.2", trusted(&stranger)),
        (
            "an address the certificate does not name",
            "127.0.0.1",
            trusted(&deployment),
        ),
    ] {
        let started = Instant::now();
        let err =
            stackr_kit::redis_conn::connect(&SecretUrl::new(&url(address)).unwrap(), Some(&ca))
                .await
                .expect_err(what);
        assert!(
            format!("{err:#}").contains("invalid peer certificate"),
            "{what}: {err:#}"
        );
        assert!(
            started.elapsed() < PROMPTLY,
            "{what}: refused only after {:?}",
            started.elapsed()
        );
    }

    let insecure = format!("{}/#insecure", url("127.0.0.2"));
    let err = stackr_kit::redis_conn::connect(&SecretUrl::new(&insecure).unwrap(), None)
        .await
        .expect_err("#insecure is refused");
    assert!(format!("{err:#}").contains("#insecure"), "{err:#}");
}
