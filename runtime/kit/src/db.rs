//! The service's own PostgreSQL pool.

use std::time::Duration;

use anyhow::Context;
use deadpool_postgres::{Pool, QueueMode, Runtime, Timeouts, WeakPool};
use stackr_contract::{DB_POOL_IDLE_CHECK, DB_POOL_IDLE_LIMIT};
use stackr_tls::TrustedCa;

use crate::config::SecretUrl;

/// The pool's size when `DATABASE_POOL_SIZE` is unset (production): as many requests at once
/// as a two-core host serves without queueing on the database; dev plans give small pools.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// Builds the pool and waits until one connection succeeds. With `sslmode=verify-full` in the
/// URL the connections are TLS, verified against `sslrootcert` or `tls_ca` (`TLS_CA_FILE`).
/// Connections unused for [`DB_POOL_IDLE_LIMIT`] are closed.
pub async fn connect(
    url: &SecretUrl,
    tls_ca: Option<&TrustedCa>,
    application_name: &str,
    max_size: usize,
) -> anyhow::Result<Pool> {
    let (mut config, tls) = stackr_tls::postgres::config(url.expose(), tls_ca)
        .with_context(|| format!("DATABASE_URL ({url})"))?;
    config.application_name(application_name);
    config.connect_timeout(Duration::from_secs(5));
    let manager = stackr_tls::postgres::manager(config, tls);
    let pool = Pool::builder(manager)
        .pre_recycle(stackr_tls::postgres_host::reuse_check())
        .max_size(max_size)
        // The connection given back last is handed out first: under light load the same one
        // serves every request, and the rest go unused long enough to be closed.
        .queue_mode(QueueMode::Lifo)
        .runtime(Runtime::Tokio1)
        .timeouts(Timeouts {
            wait: Some(Duration::from_secs(10)),
            create: Some(Duration::from_secs(5)),
            recycle: Some(Duration::from_secs(5)),
        })
        .build()
        .context("building the PostgreSQL pool")?;
    // The connection goes back to the pool: it only had to be made once.
    let _first = stackr_tls::postgres_startup::first_connection(&pool, url)
        .await
        .map_err(|failure| {
            anyhow::anyhow!(
                "cannot connect to the service database {url}: {}",
                failure.reason
            )
        })?;
    tokio::spawn(close_idle_connections(pool.weak()));
    Ok(pool)
}

/// The service's own database for one of its processes other than the API (its worker, a
/// command of its own), from the environment every process of the service gets:
/// `DATABASE_URL` with `DATABASE_PASSWORD_FILE`, `TLS_CA_FILE` and `DATABASE_POOL_SIZE`, as the
/// API's. Its connections are named `<service>-<process>` on the server (`pg_stat_activity`).
/// Call it in `main` and clone the pool into the handlers that need it.
pub async fn connect_from_env(process: &str) -> anyhow::Result<Pool> {
    connect_from_lookup(process, &crate::config::process_env).await
}

/// [`connect_from_env`] with variables from `lookup` (tests).
pub async fn connect_from_lookup(
    process: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Pool> {
    let env = crate::config::ServiceEnv::from_lookup(lookup)?;
    let name = format!("{}-{process}", env.service);
    connect(
        &env.database_url,
        env.tls_ca.as_ref(),
        &name,
        env.db_pool_size,
    )
    .await
}

/// Closes the connections unused for [`DB_POOL_IDLE_LIMIT`], until the pool is dropped.
async fn close_idle_connections(pool: WeakPool) {
    let mut checks = tokio::time::interval(DB_POOL_IDLE_CHECK);
    checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        checks.tick().await;
        let Some(pool) = pool.upgrade() else { return };
        // The closed connections are dropped with the result, which ends their server processes.
        pool.retain(|_, metrics| metrics.last_used() < DB_POOL_IDLE_LIMIT);
    }
}
