//! The service's own Redis, and the timeouts every connection the kit opens to it uses.

use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::AsyncConnectionConfig;

use crate::config::SecretUrl;

const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// How long one command may take before the client gives up on it. The redis crate's default is
/// 500 ms, which a loaded machine exceeds on ordinary work (reading a long stream, a busy script)
/// and which then fails a command that was only slow. 10 s is what bullmq-official uses for the
/// worker's own connections, so the kit's connections behave like the worker's.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long opening a connection may take (same reasoning and figure as [`RESPONSE_TIMEOUT`]).
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// Options for a self-reconnecting connection with the kit's timeouts.
pub fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
}

/// A plain multiplexed connection with the kit's timeouts (one-off clients, tools, tests).
pub async fn multiplexed(url: &str) -> redis::RedisResult<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_connection_timeout(Some(CONNECTION_TIMEOUT));
    redis::Client::open(url)?
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// A self-reconnecting connection, once Redis has answered a first time.
pub async fn connect(url: &SecretUrl) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url.expose())
        .map_err(|e| anyhow::anyhow!("REDIS_URL ({url}) is not a Redis URL: {e}"))?;
    let deadline = Instant::now() + STARTUP_WAIT;
    loop {
        match ConnectionManager::new_with_config(client.clone(), manager_config()).await {
            Ok(conn) => return Ok(conn),
            Err(e) if Instant::now() < deadline => {
                tracing::info!(redis = %url, error = %e, "waiting for Redis");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "cannot connect to the service Redis {url}: {e}"
                ))
            }
        }
    }
}

pub async fn ping(conn: &mut ConnectionManager) -> redis::RedisResult<()> {
    redis::cmd("PING")
        .query_async::<String>(conn)
        .await
        .map(|_| ())
}
