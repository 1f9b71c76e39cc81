//! Queries on `service_account` (stackr provisioning).

use super::Client;

/// Records that `service` holds a record for `user_id`; idempotent.
pub async fn provision(
    client: &Client,
    user_id: &str,
    service: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"insert into "service_account" ("user_id", "service") values ($1, $2) on conflict do nothing"#,
            &[&user_id, &service],
        )
        .await?;
    Ok(())
}
