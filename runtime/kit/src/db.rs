//! The service's own PostgreSQL pool.

use std::time::{Duration, Instant};

use anyhow::Context;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
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
    let manager = Manager::from_config(
        config,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
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
    let deadline = Instant::now() + crate::STARTUP_WAIT;
    // Said by the server last, for a wait that ends in the middle of the next attempt.
    let mut last_refusal: Option<String> = None;
    loop {
        // An attempt begun near the deadline ends with it: a server that accepts connections but
        // answers nothing would otherwise hold it for the pool's create timeout.
        let remaining = deadline.saturating_duration_since(Instant::now());
        let Ok(attempt) = tokio::time::timeout(remaining, pool.get()).await else {
            return Err(anyhow::anyhow!(
                "cannot connect to the service database {url}: {}",
                stackr_contract::no_answer_within_startup_wait_after(
                    last_refusal.as_ref().map(|e| e as &dyn std::fmt::Display)
                )
            ));
        };
        match attempt {
            Ok(_) => return Ok(pool),
            // A refused certificate stays refused: no point waiting.
            Err(e)
                if Instant::now() < deadline && stackr_tls::refusal::tls_refused(&e).is_none() =>
            {
                tracing::info!(database = %url, error = %e, "waiting for PostgreSQL");
                last_refusal = Some(stackr_tls::refusal::full_message(&e));
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "cannot connect to the service database {url}: {}",
                    stackr_tls::refusal::why_start_up_stopped(&e)
                ));
            }
        }
    }
}
