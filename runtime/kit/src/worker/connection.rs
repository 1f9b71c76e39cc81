//! Redis connections for the worker: bullmq-official's options, and a plain connection for the
//! few commands the kit sends itself.

use redis::aio::ConnectionManager;

use super::config::redact_password;
use super::error::WorkerError;

pub(crate) fn options(redis_url: &str) -> bullmq::options::RedisConnectionOptions {
    bullmq::options::RedisConnectionOptions::new().url(redis_url)
}

/// A self-reconnecting connection (failure bookkeeping, the shutdown wake-up).
pub(crate) async fn manager(redis_url: &str) -> Result<ConnectionManager, WorkerError> {
    let connect_error = |err: redis::RedisError| WorkerError::Connect {
        url: redact_password(redis_url),
        source: Box::new(err),
    };
    let client = redis::Client::open(redis_url).map_err(connect_error)?;
    ConnectionManager::new_with_config(client, crate::redis_conn::manager_config())
        .await
        .map_err(connect_error)
}
