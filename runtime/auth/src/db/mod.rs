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

use anyhow::Context;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod};

pub use deadpool_postgres::{Client, Pool};

/// Builds the pool, checks connectivity and runs the migrations.
pub async fn connect_and_migrate(
    config: &tokio_postgres::Config,
    tls: stackr_tls::postgres::PostgresTls,
    size: usize,
) -> anyhow::Result<Pool> {
    let manager = Manager::from_config(
        config.clone(),
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(size.max(1))
        .build()
        .context("build the PostgreSQL pool")?;
    let mut client = pool
        .get()
        .await
        .context("connect to PostgreSQL (check DATABASE_URL and DATABASE_PASSWORD_FILE)")?;
    migrate::run(&mut client).await?;
    Ok(pool)
}

/// "now" truncated to milliseconds: BetterAuth (JavaScript `Date`) stores millisecond precision,
/// and keeping ours identical makes rows and JSON round-trip exactly.
pub fn now_ms() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("current time fits")
}
