//! Redis connections for the worker: bullmq-official's options, and a plain connection for the
//! few commands the kit sends itself.

use redis::aio::ConnectionManager;

use super::config::{redact_password, QueueConfig};
use super::error::WorkerError;

/// bullmq-official's connection: `rediss://` verified against the deployment CA when there is one
/// (its `tls_certs` would also turn a `redis://` URL into TLS, so only for `rediss://`).
pub(crate) fn options(queue: &QueueConfig) -> bullmq::options::RedisConnectionOptions {
    let options = bullmq::options::RedisConnectionOptions::new().url(with_resp3(&queue.redis_url));
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

/// `url` asking for RESP3 (unless it names a protocol). Over RESP3 the redis crate tells a
/// connection manager that its connection was dropped as soon as that happens, and the manager
/// connects again at once. Over RESP2 it learns it from the next command, which then fails: after
/// a Redis restart, the completion of a job in flight, the first command on bullmq-official's
/// connection, was lost (Node's client queues commands while it connects again). RESP3 needs
/// Redis 6 or later.
fn with_resp3(url: &str) -> String {
    if url.contains("protocol=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}protocol=resp3")
}

#[cfg(test)]
mod tests {
    use super::with_resp3;

    #[test]
    fn resp3_is_asked_for_unless_the_url_names_a_protocol() {
        assert_eq!(
            with_resp3("redis://:pw@127.0.0.1:6379/0"),
            "redis://:pw@127.0.0.1:6379/0?protocol=resp3"
        );
        assert_eq!(
            with_resp3("rediss://host:6380/?insecure=1"),
            "rediss://host:6380/?insecure=1&protocol=resp3"
        );
        assert_eq!(
            with_resp3("redis://host/?protocol=resp2"),
            "redis://host/?protocol=resp2"
        );
    }
}
