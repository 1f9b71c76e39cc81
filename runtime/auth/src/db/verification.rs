//! Queries on `"verification"` (reset tokens, pending two-factor challenges).

use super::{now_ms, Client};
use chrono::{DateTime, Utc};

pub async fn insert(
    client: &Client,
    identifier: &str,
    value: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    let now = now_ms();
    client
        .execute(
            r#"insert into "verification" ("id", "identifier", "value", "expiresAt", "createdAt", "updatedAt")
               values ($1, $2, $3, $4, $5, $5)"#,
            &[&crate::ids::new_id(), &identifier, &value, &expires_at, &now],
        )
        .await?;
    Ok(())
}

/// The value of a live (unexpired) row, without consuming it.
pub async fn peek(
    client: &Client,
    identifier: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            r#"select "value" from "verification" where "identifier" = $1 and "expiresAt" > $2 order by "createdAt" desc limit 1"#,
            &[&identifier, &now_ms()],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Consumes a row atomically: exactly one caller gets the value of a live token; expired rows are
/// deleted but yield nothing.
pub async fn take(
    client: &Client,
    identifier: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    let rows = client
        .query(
            r#"delete from "verification" where "identifier" = $1 returning "value", "expiresAt""#,
            &[&identifier],
        )
        .await?;
    let now = now_ms();
    Ok(rows
        .iter()
        .find(|r| r.get::<_, DateTime<Utc>>(1) > now)
        .map(|r| r.get(0)))
}

pub async fn set_value(
    client: &Client,
    identifier: &str,
    value: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"update "verification" set "value" = $2, "updatedAt" = $3 where "identifier" = $1"#,
            &[&identifier, &value, &now_ms()],
        )
        .await?;
    Ok(())
}

pub async fn delete(client: &Client, identifier: &str) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"delete from "verification" where "identifier" = $1"#,
            &[&identifier],
        )
        .await?;
    Ok(())
}
