//! Work the service does on its own, between requests: deleting expired `verification` rows.

use std::time::Duration;

use crate::db::verification;
use crate::state::AppState;

/// How often expired rows are deleted. The rows of abandoned flows live until then at most,
/// so the table holds about this long's worth of them, whatever the rate they are made at.
pub const PERIOD: Duration = Duration::from_secs(10 * 60);

/// Deletes expired rows now and every [`PERIOD`] after, for as long as the process runs. A
/// failure (the database away) is logged and tried again at the next period.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PERIOD);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(error) = delete_expired(&state).await {
                tracing::warn!(%error, "could not delete expired verification rows; trying again later");
            }
        }
    });
}

/// One round: deletes the expired rows, and says how many.
pub async fn delete_expired(state: &AppState) -> anyhow::Result<u64> {
    let client = state
        .db()
        .await
        .map_err(|_| anyhow::anyhow!("no database connection"))?;
    let deleted = verification::delete_expired(&client).await?;
    if deleted > 0 {
        tracing::info!(deleted, "deleted expired verification rows");
    }
    Ok(deleted)
}
