//! Queries on `"account"` rows of OAuth providers (one row per provider identity: `providerId`
//! plus the provider's subject as `accountId`). Access and refresh tokens arrive here already
//! sealed with the auth secret; the ID token too (BetterAuth stores it in clear).

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::now_ms;

/// Tokens of one sign-in, as the token endpoint answered; sealed (`crate::oauth::identity::seal`)
/// before they are stored. `scope`: the granted scopes, comma-joined as BetterAuth stores them.
pub struct Tokens {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    pub scope: Option<String>,
}

/// An account row as `list-accounts` shows it (no tokens, no password).
pub struct AccountRow {
    pub id: String,
    pub provider_id: String,
    pub account_id: String,
    pub user_id: String,
    pub scope: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Serialises every decision about one provider identity (sign-in, link) for the length of the
/// caller's transaction, so two concurrent callbacks cannot both create it: the schema (shared with
/// BetterAuth) has no unique index on `(providerId, accountId)`.
pub async fn lock_identity(
    client: &impl GenericClient,
    provider_id: &str,
    account_id: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "select pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&format!("oauth-identity:{provider_id}:{account_id}")],
        )
        .await?;
    Ok(())
}

/// `(row id, user id)` of the account holding this identity.
pub async fn owner(
    client: &impl GenericClient,
    provider_id: &str,
    account_id: &str,
) -> Result<Option<(String, String)>, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            r#"select "id", "userId" from "account" where "providerId" = $1 and "accountId" = $2
               order by "createdAt" limit 1"#,
            &[&provider_id, &account_id],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

pub async fn insert(
    client: &impl GenericClient,
    user_id: &str,
    provider_id: &str,
    account_id: &str,
    t: &Tokens,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"insert into "account" ("id", "accountId", "providerId", "userId", "accessToken", "refreshToken", "idToken",
                 "accessTokenExpiresAt", "refreshTokenExpiresAt", "scope", "createdAt", "updatedAt")
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)"#,
            &[
                &crate::ids::new_id(),
                &account_id,
                &provider_id,
                &user_id,
                &t.access_token,
                &t.refresh_token,
                &t.id_token,
                &t.access_token_expires_at,
                &t.refresh_token_expires_at,
                &t.scope,
                &now_ms(),
            ],
        )
        .await?;
    Ok(())
}

/// Replaces the tokens of an existing row (every sign-in brings new ones); the scope is kept,
/// as BetterAuth only changes it when linking.
pub async fn update_tokens(
    client: &impl GenericClient,
    id: &str,
    t: &Tokens,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"update "account" set "accessToken" = coalesce($2, "accessToken"),
                 "refreshToken" = coalesce($3, "refreshToken"), "idToken" = coalesce($4, "idToken"),
                 "accessTokenExpiresAt" = coalesce($5, "accessTokenExpiresAt"),
                 "refreshTokenExpiresAt" = coalesce($6, "refreshTokenExpiresAt"), "updatedAt" = $7
               where "id" = $1"#,
            &[
                &id,
                &t.access_token,
                &t.refresh_token,
                &t.id_token,
                &t.access_token_expires_at,
                &t.refresh_token_expires_at,
                &now_ms(),
            ],
        )
        .await?;
    Ok(())
}

/// Every sign-in method of a user (credential included), oldest first.
pub async fn list(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<Vec<AccountRow>, tokio_postgres::Error> {
    Ok(client
        .query(
            r#"select "id", "providerId", "accountId", "userId", "scope", "createdAt", "updatedAt"
               from "account" where "userId" = $1 order by "createdAt", "id""#,
            &[&user_id],
        )
        .await?
        .iter()
        .map(|r| AccountRow {
            id: r.get(0),
            provider_id: r.get(1),
            account_id: r.get(2),
            user_id: r.get(3),
            scope: r.get(4),
            created_at: r.get(5),
            updated_at: r.get(6),
        })
        .collect())
}

pub enum Unlinked {
    Done,
    /// It is the user's only way to sign in.
    LastAccount,
    NotFound,
}

/// Removes one of the user's accounts unless it is the last, deciding on rows locked for the
/// transaction so two concurrent unlinks cannot remove the last two.
pub async fn unlink(
    client: &mut deadpool_postgres::Client,
    user_id: &str,
    id: &str,
) -> Result<Unlinked, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let ids: Vec<String> = tx
        .query(
            r#"select "id" from "account" where "userId" = $1 for update"#,
            &[&user_id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let outcome = if ids.len() == 1 {
        Unlinked::LastAccount
    } else if !ids.iter().any(|i| i == id) {
        Unlinked::NotFound
    } else {
        tx.execute(r#"delete from "account" where "id" = $1"#, &[&id])
            .await?;
        Unlinked::Done
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Removes every provider identity of the user (their password, if any, stays), for the reset
/// that proves an address the account moved to (`routes::password_reset`).
pub async fn unlink_every_identity(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"delete from "account" where "userId" = $1 and "providerId" <> $2"#,
            &[&user_id, &super::accounts::CREDENTIAL],
        )
        .await?;
    Ok(())
}

/// One of a user's account rows with its stored (sealed) tokens, for `account-info`.
pub struct StoredAccount {
    pub id: String,
    pub provider_id: String,
    pub account_id: String,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
}

/// The user's account row `id`, if the user holds it.
pub async fn of_user(
    client: &impl GenericClient,
    user_id: &str,
    id: &str,
) -> Result<Option<StoredAccount>, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            r#"select "id", "providerId", "accountId", "accessToken", "refreshToken", "idToken",
                 "accessTokenExpiresAt"
               from "account" where "userId" = $1 and "id" = $2"#,
            &[&user_id, &id],
        )
        .await?
        .map(|r| StoredAccount {
            id: r.get(0),
            provider_id: r.get(1),
            account_id: r.get(2),
            access_token: r.get(3),
            refresh_token: r.get(4),
            id_token: r.get(5),
            access_token_expires_at: r.get(6),
        }))
}
