//! Queries on `"account"` (only the `credential` provider: email + password).

use super::now_ms;
use deadpool_postgres::GenericClient;

pub use stackr_contract::PASSWORD_PROVIDER_ID as CREDENTIAL;

/// The stored password hash of the user's credential account, if any.
pub async fn credential_password(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<Option<Option<String>>, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            r#"select "password" from "account" where "userId" = $1 and "providerId" = $2 limit 1"#,
            &[&user_id, &CREDENTIAL],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Whether some stored password is not argon2id (BetterAuth's scrypt, in a database migrated
/// from BetterAuth): read once at startup, so a whole scan is fine.
pub async fn any_password_not_argon2id(
    client: &impl GenericClient,
) -> Result<bool, tokio_postgres::Error> {
    Ok(client
        .query_one(
            r#"select exists (select 1 from "account"
               where "providerId" = $1 and "password" not like '$argon2%')"#,
            &[&CREDENTIAL],
        )
        .await?
        .get(0))
}

pub async fn insert_credential(
    client: &impl GenericClient,
    user_id: &str,
    hash: &str,
) -> Result<(), tokio_postgres::Error> {
    let now = now_ms();
    client
        .execute(
            r#"insert into "account" ("id", "accountId", "providerId", "userId", "password", "createdAt", "updatedAt")
               values ($1, $2, $3, $2, $4, $5, $5)"#,
            &[&crate::ids::new_id(), &user_id, &CREDENTIAL, &hash, &now],
        )
        .await?;
    Ok(())
}

/// Replaces the credential password, creating the credential account when missing
/// (BetterAuth's reset-password does the same). Returns whether an account existed.
/// Replaces the credential's hash `old` with `new`, unless it is no longer `old` (a reset or a
/// change came first, which must win): whether it was replaced.
pub async fn replace_credential_password(
    client: &impl GenericClient,
    user_id: &str,
    old: &str,
    new: &str,
) -> Result<bool, tokio_postgres::Error> {
    let n = client
        .execute(
            r#"update "account" set "password" = $4, "updatedAt" = $5
               where "userId" = $1 and "providerId" = $2 and "password" = $3"#,
            &[&user_id, &CREDENTIAL, &old, &new, &now_ms()],
        )
        .await?;
    Ok(n > 0)
}

/// Drops the password of the user's credential account (a reset sets a new one).
pub async fn clear_credential_password(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"update "account" set "password" = null, "updatedAt" = $3 where "userId" = $1 and "providerId" = $2"#,
            &[&user_id, &CREDENTIAL, &now_ms()],
        )
        .await?;
    Ok(())
}

pub async fn set_credential_password(
    client: &impl GenericClient,
    user_id: &str,
    hash: &str,
) -> Result<(), tokio_postgres::Error> {
    let n = client
        .execute(
            r#"update "account" set "password" = $3, "updatedAt" = $4 where "userId" = $1 and "providerId" = $2"#,
            &[&user_id, &CREDENTIAL, &hash, &now_ms()],
        )
        .await?;
    if n == 0 {
        insert_credential(client, user_id, hash).await?;
    }
    Ok(())
}
