//! A PostgreSQL pool's first connection at start-up, for auth and every service alike: the
//! database may start after the process, or on a host still booting, so attempts are retried
//! until [`STARTUP_WAIT`] has passed. A refused certificate, or a server that did not prove itself,
//! stays refused: that stops at once.

use std::fmt::Display;
use std::time::{Duration, Instant};

use stackr_contract::STARTUP_WAIT;

/// Why the first connection did not come, as start-up reports it.
#[derive(Debug)]
pub struct StartupFailure {
    /// The reason, with the start-up wait when it ran out.
    pub reason: String,
    /// The server was refused (by TLS, or for not proving itself by SCRAM): waiting would not
    /// help.
    pub refused_for_good: bool,
}

/// The first connection of `pool` (`database` names it in the log while waiting).
pub async fn first_connection(
    pool: &deadpool_postgres::Pool,
    database: &(dyn Display + Sync),
) -> Result<deadpool_postgres::Client, StartupFailure> {
    let deadline = Instant::now() + STARTUP_WAIT;
    // Said by the server last, for a wait that ends in the middle of the next attempt: a wrong
    // password answers at once, attempt after attempt, and is then the reason.
    let mut last_refusal: Option<String> = None;
    loop {
        // An attempt begun near the deadline ends with it: a server that accepts connections but
        // answers nothing would otherwise hold it for the pool's create timeout.
        let remaining = deadline.saturating_duration_since(Instant::now());
        let Ok(attempt) = tokio::time::timeout(remaining, pool.get()).await else {
            return Err(StartupFailure {
                reason: stackr_contract::no_answer_within_startup_wait_after(
                    last_refusal.as_ref().map(|e| e as &dyn Display),
                ),
                refused_for_good: false,
            });
        };
        match attempt {
            Ok(client) => return Ok(client),
            Err(e) if Instant::now() < deadline && !crate::refusal::refused_for_good(&e) => {
                // With its causes: tokio-postgres's own words for what the server said are
                // only "db error". Quoted (as `refusal::log_line` does), on one line.
                let message = crate::refusal::full_message(&e);
                tracing::info!(%database, error = ?message, "waiting for PostgreSQL");
                last_refusal = Some(message);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                return Err(StartupFailure {
                    reason: crate::refusal::why_start_up_stopped(&e),
                    refused_for_good: crate::refusal::refused_for_good(&e),
                })
            }
        }
    }
}
