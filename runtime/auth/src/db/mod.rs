//! PostgreSQL access.
//!
//! Driver choice: `tokio-postgres` + `deadpool-postgres` rather than sqlx. The auth service has a
//! small, fixed set of queries; tokio-postgres gives per-connection prepared-statement caching
//! (`prepare_cached`, which matters for the hot get-session query), needs no database at compile
//! time (sqlx's checked macros would), and compiles much faster than sqlx on the shared build
//! machine. Column names are BetterAuth's quoted camelCase so the two can share a database.

pub mod accounts;
pub mod audit;
pub mod credential_epoch;
pub mod migrate;
pub mod models;
pub mod oauth_accounts;
pub mod service_accounts;
pub mod session_reads;
pub mod sessions;
pub mod two_factor;
pub mod users;
pub mod verification;

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod};
use stackr_contract::STARTUP_WAIT;

pub use deadpool_postgres::{Client, Pool};

/// Builds the pool and runs the migrations. With `wait` (the server) it waits up to
/// [`stackr_contract::STARTUP_WAIT`] for PostgreSQL to answer: its PostgreSQL may start after it,
/// or on a host still booting. A one-off command waits for nothing.
pub async fn connect_and_migrate(
    config: &tokio_postgres::Config,
    tls: stackr_tls::postgres::PostgresTls,
    size: usize,
    wait: bool,
) -> anyhow::Result<Pool> {
    let manager = Manager::from_config(
        config.clone(),
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .pre_recycle(stackr_tls::postgres_host::reuse_check())
        .max_size(size.max(1))
        .build()
        .context("build the PostgreSQL pool")?;
    let mut client = if wait {
        first_connection(&pool).await?
    } else {
        pool.get()
            .await
            .context("connect to PostgreSQL (check DATABASE_URL and DATABASE_PASSWORD_FILE)")?
    };
    migrate::run(&mut client).await?;
    Ok(pool)
}

/// The pool's first connection, retried until [`STARTUP_WAIT`] has passed; a refused certificate
/// stays refused, so it stops at once. An attempt begun near the end of the wait ends with it.
async fn first_connection(pool: &Pool) -> anyhow::Result<Client> {
    let deadline = Instant::now() + STARTUP_WAIT;
    // Said by the server last, for a wait that ends in the middle of the next attempt.
    let mut last_refusal: Option<String> = None;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let Ok(attempt) = tokio::time::timeout(remaining, pool.get()).await else {
            bail!(
                "connect to PostgreSQL: {} (check DATABASE_URL, DATABASE_PASSWORD_FILE and that \
                 the server is up)",
                stackr_contract::no_answer_within_startup_wait_after(
                    last_refusal.as_ref().map(|e| e as &dyn std::fmt::Display)
                )
            );
        };
        match attempt {
            Ok(client) => return Ok(client),
            Err(e)
                if Instant::now() < deadline && stackr_tls::refusal::tls_refused(&e).is_none() =>
            {
                tracing::info!(error = %e, "waiting for PostgreSQL");
                last_refusal = Some(stackr_tls::refusal::full_message(&e));
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                let reason = stackr_tls::refusal::why_start_up_stopped(&e);
                if stackr_tls::refusal::tls_refused(&e).is_some() {
                    bail!(
                        "connect to PostgreSQL (check DATABASE_URL and DATABASE_PASSWORD_FILE): \
                         {reason}"
                    );
                }
                bail!(
                    "connect to PostgreSQL: {reason} (check DATABASE_URL, DATABASE_PASSWORD_FILE \
                     and that the server is up)"
                );
            }
        }
    }
}

/// "now" truncated to milliseconds: BetterAuth (JavaScript `Date`) stores millisecond precision,
/// and keeping ours identical makes rows and JSON round-trip exactly.
pub fn now_ms() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("current time fits")
}
