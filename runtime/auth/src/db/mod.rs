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
pub mod session_sign_in;
pub mod sessions;
pub mod two_factor;
pub mod users;
pub mod verification;

use anyhow::Context;
use chrono::{DateTime, Utc};

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
    let manager = stackr_tls::postgres::manager(config.clone(), tls);
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

/// The pool's first connection, waited for as every runtime process waits for its database.
async fn first_connection(pool: &Pool) -> anyhow::Result<Client> {
    stackr_tls::postgres_startup::first_connection(pool, &"auth")
        .await
        .map_err(|failure| {
            if failure.refused_for_good {
                anyhow::anyhow!(
                    "connect to PostgreSQL (check DATABASE_URL and DATABASE_PASSWORD_FILE): {}",
                    failure.reason
                )
            } else {
                anyhow::anyhow!(
                    "connect to PostgreSQL: {} (check DATABASE_URL, DATABASE_PASSWORD_FILE and \
                     that the server is up)",
                    failure.reason
                )
            }
        })
}

/// "now" truncated to milliseconds: BetterAuth (JavaScript `Date`) stores millisecond precision,
/// and keeping ours identical makes rows and JSON round-trip exactly.
pub fn now_ms() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("current time fits")
}
