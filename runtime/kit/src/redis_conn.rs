//! The service's own Redis.

use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use crate::config::SecretUrl;

const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// A self-reconnecting connection, once Redis has answered a first time.
pub async fn connect(url: &SecretUrl) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url.expose())
        .map_err(|e| anyhow::anyhow!("REDIS_URL ({url}) is not a Redis URL: {e}"))?;
    let deadline = Instant::now() + STARTUP_WAIT;
    loop {
        match ConnectionManager::new(client.clone()).await {
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
