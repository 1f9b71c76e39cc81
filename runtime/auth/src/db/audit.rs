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
    pub at: DateTime<Utc>,
    pub actor_email: String,
    pub action: String,
    pub target_email: Option<String>,
    pub detail: String,
    pub ip: String,
}

/// The newest `limit` entries, newest first.
pub async fn newest(
    client: &impl GenericClient,
    limit: i64,
) -> Result<Vec<Recorded>, tokio_postgres::Error> {
    let rows = client
        .query(
            r#"select "at", "actor_email", "action", "target_email", "detail", "ip" from "admin_audit" order by "id" desc limit $1"#,
            &[&limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Recorded {
            at: r.get(0),
            actor_email: r.get(1),
            action: r.get(2),
            target_email: r.get(3),
            detail: r.get(4),
            ip: r.get(5),
        })
        .collect())
}
