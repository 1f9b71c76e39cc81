//! Redis connections for the worker: bullmq-official's options, and a plain connection for the
//! few commands the kit sends itself.

use redis::aio::ConnectionManager;

use super::config::{redact_password, QueueConfig};
use super::error::WorkerError;

/// bullmq-official's connection: `rediss://` verified against the deployment CA when there is one
/// (its `tls_certs` would also turn a `redis://` URL into TLS, so only for `rediss://`).
pub(crate) fn options(queue: &QueueConfig) -> bullmq::options::RedisConnectionOptions {
    let options = bullmq::options::RedisConnectionOptions::new()
        .url(crate::redis_conn::with_resp3(&queue.redis_url));
    match &queue.tls_ca {
        Some(ca) if queue.redis_url.starts_with("rediss://") => {
            options.tls_certs(bullmq::options::TlsCerts {
                root_cert: Some(ca.pem().to_vec()),
                ..Default::default()
            })
        }
        _ => options,
    }
}

/// A self-reconnecting connection (failure bookkeeping, the shutdown wake-up). The worker opens it
/// first, so this is where it waits for a Redis that is not up yet.
pub(crate) async fn manager(queue: &QueueConfig) -> Result<ConnectionManager, WorkerError> {
    let shown_url = redact_password(&queue.redis_url);
    let connect_error = |err: redis::RedisError| WorkerError::Connect {
        url: shown_url.clone(),
        source: Box::new(err),
    };
    let client = crate::redis_conn::client(&queue.redis_url, queue.tls_ca.as_ref())
        .map_err(connect_error)?;
    crate::redis_conn::manager_once_up(client, &shown_url)
        .await
        .map_err(connect_error)
}
