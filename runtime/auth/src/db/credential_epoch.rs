//! Queries on `"credential_epoch"`: the per-user counter that ends every credential a base
//! service derived from the user's sessions (device sessions) when the sessions themselves end.

use super::Client;
use deadpool_postgres::GenericClient;

/// What a base service needs to know about the owner of a credential it derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerStatus {
    /// Banned now (an expired temporary ban does not count).
    pub banned: bool,
    pub epoch: i64,
}

/// Moves the user's epoch on. Called after the sessions are deleted, so a base service that reads
/// the epoch and then checks the session can never stamp a new credential with the new epoch on
/// the strength of a session that is being revoked.
pub async fn bump(client: &impl GenericClient, user_id: &str) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"insert into "credential_epoch" as e ("user_id", "epoch") values ($1, 1)
               on conflict ("user_id") do update set "epoch" = e."epoch" + 1, "bumped_at" = CURRENT_TIMESTAMP"#,
            &[&user_id],
        )
        .await?;
    Ok(())
}

/// `None` when the user does not exist (deleted).
pub async fn owner_status(
    client: &Client,
    user_id: &str,
) -> Result<Option<OwnerStatus>, tokio_postgres::Error> {
    let stmt = client
        .prepare_cached(
            r#"select coalesce(u."banned", false) and (u."banExpires" is null or u."banExpires" > now()),
                      coalesce(e."epoch", 0)
               from "user" u left join "credential_epoch" e on e."user_id" = u."id"
               where u."id" = $1"#,
        )
        .await?;
    Ok(client
        .query_opt(&stmt, &[&user_id])
        .await?
        .map(|row| OwnerStatus {
            banned: row.get(0),
            epoch: row.get(1),
        }))
}
