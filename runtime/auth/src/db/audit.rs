//! The admin audit log (`admin_audit`): written in the same transaction as the action it records.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

/// One admin action as it is recorded.
pub struct Entry<'a> {
    pub actor_id: &'a str,
    pub actor_email: &'a str,
    pub action: &'a str,
    pub target_id: Option<&'a str>,
    pub target_email: Option<&'a str>,
    /// What was set (role, ban reason, …); never a secret.
    pub detail: &'a str,
    pub ip: &'a str,
}

pub async fn insert(
    client: &impl GenericClient,
    e: &Entry<'_>,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"insert into "admin_audit" ("actor_id", "actor_email", "action", "target_id", "target_email", "detail", "ip")
               values ($1, $2, $3, $4, $5, $6, $7)"#,
            &[&e.actor_id, &e.actor_email, &e.action, &e.target_id, &e.target_email, &e.detail, &e.ip],
        )
        .await?;
    Ok(())
}

/// A recorded entry, as the dashboard shows it.
pub struct Recorded {
    /// Grows with every entry: the page after this one starts below it.
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_email: String,
    pub action: String,
    pub target_email: Option<String>,
    pub detail: String,
    pub ip: String,
}

/// The newest `limit` entries older than the entry `before` (all when `None`), newest first.
pub async fn newest(
    client: &impl GenericClient,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Recorded>, tokio_postgres::Error> {
    let rows = client
        .query(
            r#"select "id", "at", "actor_email", "action", "target_email", "detail", "ip" from "admin_audit"
               where $1::bigint is null or "id" < $1 order by "id" desc limit $2"#,
            &[&before, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Recorded {
            id: r.get(0),
            at: r.get(1),
            actor_email: r.get(2),
            action: r.get(3),
            target_email: r.get(4),
            detail: r.get(5),
            ip: r.get(6),
        })
        .collect())
}
