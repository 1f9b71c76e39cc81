//! Schema migrations, run by the service itself at start-up.
//!
//! Plain SQL files embedded in the binary and applied in order inside one transaction guarded by
//! an advisory lock, so two instances starting together cannot race. Applied versions are recorded
//! in `stackr_auth_migrations`. Every statement is idempotent (`if not exists`), which lets the
//! service adopt a database previously created by BetterAuth itself.

use anyhow::Context;

const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "betterauth_core",
        include_str!("../../migrations/0001_betterauth_core.sql"),
    ),
    (
        2,
        "betterauth_plugins",
        include_str!("../../migrations/0002_betterauth_plugins.sql"),
    ),
    (
        3,
        "service_account",
        include_str!("../../migrations/0003_service_account.sql"),
    ),
    (
        4,
        "credential_epoch",
        include_str!("../../migrations/0004_credential_epoch.sql"),
    ),
    (
        5,
        "totp_last_step",
        include_str!("../../migrations/0005_totp_last_step.sql"),
    ),
    (
        6,
        "email_normalised_index",
        include_str!("../../migrations/0006_email_normalised_index.sql"),
    ),
    (
        7,
        "admin_audit",
        include_str!("../../migrations/0007_admin_audit.sql"),
    ),
    (
        8,
        "address_moves",
        include_str!("../../migrations/0008_address_moves.sql"),
    ),
    (
        9,
        "password_by_mail",
        include_str!("../../migrations/0009_password_by_mail.sql"),
    ),
    (
        10,
        "sign_up_contested",
        include_str!("../../migrations/0010_sign_up_contested.sql"),
    ),
    (
        11,
        "password_unproved",
        include_str!("../../migrations/0011_password_unproved.sql"),
    ),
    (
        12,
        "password_budget",
        include_str!("../../migrations/0012_password_budget.sql"),
    ),
    (
        13,
        "two_factor_address_verified",
        include_str!("../../migrations/0013_two_factor_address_verified.sql"),
    ),
    (
        14,
        "mail_budget",
        include_str!("../../migrations/0014_mail_budget.sql"),
    ),
    (
        15,
        "session_sign_in",
        include_str!("../../migrations/0015_session_sign_in.sql"),
    ),
    (
        16,
        "address_moved_unproved",
        include_str!("../../migrations/0016_address_moved_unproved.sql"),
    ),
    (
        17,
        "session_impersonated_by_index",
        include_str!("../../migrations/0017_session_impersonated_by_index.sql"),
    ),
    (
        18,
        "account_identity_index",
        include_str!("../../migrations/0018_account_identity_index.sql"),
    ),
];

/// Arbitrary constant identifying "stackr-auth migrations" for `pg_advisory_xact_lock`.
const LOCK_KEY: i64 = 0x5354_4143_4b52_4155; // "STACKRAU"

pub async fn run(client: &mut tokio_postgres::Client) -> anyhow::Result<()> {
    let tx = client
        .transaction()
        .await
        .context("begin migration transaction")?;
    tx.execute("select pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await
        .context("take the migration lock")?;
    // Quiet: on every start but the first, PostgreSQL notices that the table exists, which the
    // log showed as if something were wrong.
    tx.batch_execute(
        "set local client_min_messages = warning;
        create table if not exists stackr_auth_migrations (
            version integer primary key,
            name text not null,
            applied_at timestamptz not null default now())",
    )
    .await
    .context("create stackr_auth_migrations")?;
    let applied: Vec<i32> = tx
        .query("select version from stackr_auth_migrations", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        tx.batch_execute(sql)
            .await
            .with_context(|| format!("migration {version} ({name}) failed"))?;
        tx.execute(
            "insert into stackr_auth_migrations (version, name) values ($1, $2)",
            &[version, name],
        )
        .await?;
        tracing::info!(version, name, "applied migration");
    }
    tx.commit().await.context("commit migrations")?;
    Ok(())
}
