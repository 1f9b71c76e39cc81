//! Migrations for the service's own tables: the kit's (`stackr_*`) first, then the service's
//! `migrations/*.sql` in the order the service lists them.
//!
//! Applied once each, in a transaction each, under a PostgreSQL advisory lock so an API and a
//! worker starting together do not race. A migration whose text changed after being applied is
//! refused (edit history by adding a migration, never by rewriting one).

use anyhow::{bail, Context};
use deadpool_postgres::Pool;
use sha2::{Digest, Sha256};

/// One SQL migration. Names must be unique and stable; `sql` is usually `include_str!`.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    pub const fn new(name: &'static str, sql: &'static str) -> Self {
        Migration { name, sql }
    }
}

/// The kit's own tables.
pub const KIT_MIGRATIONS: &[Migration] = &[
    Migration::new(
        "stackr-kit/0001_stackr_user",
        include_str!("../migrations/0001_stackr_user.sql"),
    ),
    Migration::new(
        "stackr-kit/0002_stackr_device_session",
        include_str!("../migrations/0002_stackr_device_session.sql"),
    ),
    Migration::new(
        "stackr-kit/0003_stackr_device_session_owner_epoch",
        include_str!("../migrations/0003_stackr_device_session_owner_epoch.sql"),
    ),
];

/// Arbitrary but fixed: every service has its own database, so one key per database suffices.
const LOCK_KEY: i64 = 0x5354_4143_4b52; // "STACKR"

pub async fn run(pool: &Pool, service_migrations: &[Migration]) -> anyhow::Result<()> {
    let mut client = pool
        .get()
        .await
        .context("migrations: no database connection")?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await?;
    let result = apply_all(&mut client, service_migrations).await;
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    result
}

async fn apply_all(
    client: &mut deadpool_postgres::Client,
    service_migrations: &[Migration],
) -> anyhow::Result<()> {
    // Quiet: on every start but the first, PostgreSQL notices that the table exists, which the
    // log showed as if something were wrong.
    let tx = client.transaction().await?;
    tx.batch_execute(
        "SET LOCAL client_min_messages = warning;
         CREATE TABLE IF NOT EXISTS stackr_schema_migrations (
             name       text PRIMARY KEY,
             checksum   text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .context("creating stackr_schema_migrations")?;
    tx.commit().await?;
    for migration in KIT_MIGRATIONS.iter().chain(service_migrations) {
        let checksum = checksum(migration.sql);
        let applied = client
            .query_opt(
                "SELECT checksum FROM stackr_schema_migrations WHERE name = $1",
                &[&migration.name],
            )
            .await?;
        match applied {
            Some(row) if row.get::<_, String>(0) == checksum => continue,
            Some(_) => bail!(
                "migration {} was changed after it was applied; add a new migration instead of editing it",
                migration.name
            ),
            None => {}
        }
        let tx = client.transaction().await?;
        tx.batch_execute(migration.sql)
            .await
            .with_context(|| format!("applying migration {}", migration.name))?;
        tx.execute(
            "INSERT INTO stackr_schema_migrations (name, checksum) VALUES ($1, $2)",
            &[&migration.name, &checksum],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(migration = migration.name, "applied migration");
    }
    Ok(())
}

fn checksum(sql: &str) -> String {
    Sha256::digest(sql.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
