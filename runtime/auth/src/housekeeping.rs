//! Work the service does on its own, between requests: deleting expired `verification` rows,
//! forgotten password budgets and mail budgets whose window is over.

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
                tracing::warn!(%error, "could not delete expired rows; trying again later");
            }
        }
    });
}

/// One round: deletes the expired `verification` rows and the password budgets idle for
/// [`crate::account_throttle::FORGET_AFTER`], and says how many of the former.
pub async fn delete_expired(state: &AppState) -> anyhow::Result<u64> {
    let client = state
        .db()
        .await
        .map_err(|_| anyhow::anyhow!("no database connection"))?;
    let deleted = verification::delete_expired(&client).await?;
    if deleted > 0 {
        tracing::info!(deleted, "deleted expired verification rows");
    }
    let forgotten = crate::account_throttle::delete_forgotten(&client).await?;
    if forgotten > 0 {
        tracing::info!(forgotten, "deleted password budgets idle for a day");
    }
    crate::mail_budget::delete_ended(&client).await?;
    Ok(deleted)
}
