//! The service's own PostgreSQL pool.

use std::time::Duration;

use anyhow::Context;
use deadpool_postgres::{Pool, Runtime, Timeouts};
use stackr_tls::TrustedCa;

use crate::config::SecretUrl;

/// The pool's size when `DATABASE_POOL_SIZE` is unset (production): as many requests at once
/// as a two-core host serves without queueing on the database; dev plans give small pools.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// Builds the pool and waits until one connection succeeds. With `sslmode=verify-full` in the
/// URL the connections are TLS, verified against `sslrootcert` or `tls_ca` (`TLS_CA_FILE`).
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
    Ok(pool)
}
