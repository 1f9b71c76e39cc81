//! Queries on `"verification"` (reset tokens, pending two-factor challenges).

use super::{now_ms, Client};
use chrono::{DateTime, Utc};

pub async fn insert(
    client: &impl deadpool_postgres::GenericClient,
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

/// [`insert`] with user `user_id` as the value, only while the user's address is still `email`
/// (normalised): whether the row was written. The user row is read `for share`, so an address
/// change in flight is waited for, and a row for a link mailed to an address the user has just
/// left is never written after that change dropped the user's rows.
pub async fn insert_while_address_is(
    client: &impl deadpool_postgres::GenericClient,
    identifier: &str,
    user_id: &str,
    email: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool, tokio_postgres::Error> {
    let now = now_ms();
    let n = client
        .execute(
            r#"with "owner" as (
                 select "id" from "user"
                 where "id" = $3 and lower(normalize("email", NFC)) = $6 for share)
               insert into "verification" ("id", "identifier", "value", "expiresAt", "createdAt", "updatedAt")
               select $1, $2, "id", $4, $5, $5 from "owner""#,
            &[
                &crate::ids::new_id(),
                &identifier,
                &user_id,
                &expires_at,
                &now,
                &super::users::normalize_email(email),
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Replaces the rows of each `(identifier, value)` with one new row, all expiring at `expires_at`,
/// in one transaction that holds a lock on the first identifier: concurrent replacements of the
/// same rows (a double-clicked `send-otp`) follow one another, so each identifier is left with
/// exactly one row, never two.
pub async fn replace(
    client: &mut Client,
    rows: &[(&str, &str)],
    expires_at: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    let Some((first, _)) = rows.first() else {
        return Ok(());
    };
    let tx = client.transaction().await?;
    tx.execute(
        "select pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[first],
    )
    .await?;
    for (identifier, value) in rows {
        tx.execute(
            r#"delete from "verification" where "identifier" = $1"#,
            &[identifier],
        )
        .await?;
        insert(&tx, identifier, value, expires_at).await?;
    }
    tx.commit().await
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
    client: &impl deadpool_postgres::GenericClient,
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

/// Counts one use of a live counter row (value = a number) in a single statement, unless it has
/// reached `max`: the new count, or `None` when the row is used up, expired or gone. Concurrent
/// callers queue on the row lock, so no more than `max` ever succeed.
pub async fn claim_use(
    client: &Client,
    identifier: &str,
    max: i32,
) -> Result<Option<i32>, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            r#"update "verification"
               set "value" = (case when "value" ~ '^[0-9]{1,9}$' then "value"::int else $3 end + 1)::text,
                   "updatedAt" = $2
               where "identifier" = $1 and "expiresAt" > $2
                 and (case when "value" ~ '^[0-9]{1,9}$' then "value"::int else $3 end) < $3
               returning "value""#,
            &[&identifier, &now_ms(), &max],
        )
        .await?
        .and_then(|r| r.get::<_, String>(0).parse().ok()))
}

/// Deletes every row of one kind (identifier prefix) that belongs to a user (value = user id):
/// a user's trusted devices, or their outstanding reset tokens.
pub async fn delete_for_user(
    client: &impl deadpool_postgres::GenericClient,
    user_id: &str,
    prefix: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"delete from "verification" where starts_with("identifier", $2) and "value" = $1"#,
            &[&user_id, &prefix],
        )
        .await?;
    Ok(())
}

/// Deletes every row past its expiry (no query reads one: each asks for a live row), and says
/// how many. Without it, the rows of flows never finished (an OAuth sign-in abandoned at the
/// provider, a reset link never followed), which anyone can start, would pile up for ever.
pub async fn delete_expired(client: &Client) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            r#"delete from "verification" where "expiresAt" <= $1"#,
            &[&now_ms()],
        )
        .await
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
