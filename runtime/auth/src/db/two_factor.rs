//! Queries on `"twoFactor"`. `secret` and `backupCodes` hold ciphertext (see `crate::crypto`).

use super::Client;

pub struct TwoFactorRow {
    pub id: String,
    pub secret: String,
    pub backup_codes: String,
    pub verified: bool,
    pub failed_count: i32,
    pub locked_until: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn by_user(
    client: &Client,
    user_id: &str,
) -> Result<Option<TwoFactorRow>, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            r#"select "id", "secret", "backupCodes", coalesce("verified", true), coalesce("failedVerificationCount", 0), "lockedUntil"
               from "twoFactor" where "userId" = $1 limit 1"#,
            &[&user_id],
        )
        .await?
        .map(|r| TwoFactorRow {
            id: r.get(0),
            secret: r.get(1),
            backup_codes: r.get(2),
            verified: r.get(3),
            failed_count: r.get(4),
            locked_until: r.get(5),
        }))
}

/// Replaces the user's 2FA enrolment with a fresh, unverified one.
pub async fn replace(
    client: &mut Client,
    user_id: &str,
    secret: &str,
    backup_codes: &str,
) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute(
        r#"delete from "twoFactor" where "userId" = $1"#,
        &[&user_id],
    )
    .await?;
    tx.execute(
        r#"insert into "twoFactor" ("id", "secret", "backupCodes", "userId", "verified", "failedVerificationCount")
           values ($1, $2, $3, $4, false, 0)"#,
        &[&crate::ids::new_id(), &secret, &backup_codes, &user_id],
    )
    .await?;
    tx.commit().await
}

pub async fn mark_verified(client: &Client, id: &str) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"update "twoFactor" set "verified" = true, "failedVerificationCount" = 0, "lockedUntil" = null where "id" = $1"#,
            &[&id],
        )
        .await?;
    Ok(())
}

pub async fn set_backup_codes(
    client: &Client,
    id: &str,
    codes: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"update "twoFactor" set "backupCodes" = $2 where "id" = $1"#,
            &[&id, &codes],
        )
        .await?;
    Ok(())
}

pub async fn record_failure(
    client: &Client,
    id: &str,
    lock_until: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"update "twoFactor" set "failedVerificationCount" = coalesce("failedVerificationCount", 0) + 1,
                 "lockedUntil" = coalesce($2, "lockedUntil") where "id" = $1"#,
            &[&id, &lock_until],
        )
        .await?;
    Ok(())
}

pub async fn reset_failures(client: &Client, id: &str) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"update "twoFactor" set "failedVerificationCount" = 0, "lockedUntil" = null where "id" = $1"#,
            &[&id],
        )
        .await?;
    Ok(())
}

pub async fn delete_for_user(client: &Client, user_id: &str) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"delete from "twoFactor" where "userId" = $1"#,
            &[&user_id],
        )
        .await?;
    Ok(())
}
