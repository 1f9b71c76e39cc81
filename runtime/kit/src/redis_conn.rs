//! The service's own Redis, and the timeouts every connection the kit opens to it uses. A
//! `rediss://` URL is TLS, verified against the deployment CA (`TLS_CA_FILE`) and the URL's host.

use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, TlsCertificates};
use stackr_tls::TrustedCa;

use crate::config::SecretUrl;

/// How long one command may take before the client gives up on it. The redis crate's default is
/// 500 ms, which a loaded machine exceeds on ordinary work (reading a long stream, a busy script)
/// and which then fails a command that was only slow. 10 s is what bullmq-official uses for the
/// worker's own connections, so the kit's connections behave like the worker's.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long opening a connection may take (same reasoning and figure as [`RESPONSE_TIMEOUT`]).
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// `url` asking for RESP3 (unless it names a protocol), for every self-reconnecting connection:
/// the kit's and bullmq-official's. Over RESP3 the redis crate tells a connection manager that
/// its connection was dropped as soon as that happens, and the manager connects again at once;
/// a command sent meanwhile waits for the new connection, as Node's client (ioredis) queues
/// commands while it connects again. Over RESP2 it learns it from the next command, which then
/// fails. RESP3 needs Redis 6 or later.
pub(crate) fn with_resp3(url: &str) -> String {
    // The query's own parameters only: a socket's path holds the project's folder names.
    let query = url::Url::parse(url)
        .ok()
        .and_then(|u| u.query().map(str::to_owned));
    if query.as_deref().is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(key, _)| key == "protocol")
    }) {
        return url.to_owned();
    }
    let separator = if query.is_some() { '&' } else { '?' };
    format!("{url}{separator}protocol=resp3")
}

/// Options for a self-reconnecting connection with the kit's timeouts.
pub fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
}

/// A plain multiplexed connection with the kit's timeouts (one-off clients, tools, tests).
pub async fn multiplexed(url: &str) -> redis::RedisResult<MultiplexedConnection> {
    redis::Client::open(url)?
        .get_multiplexed_async_connection_with_config(&connection_config())
        .await
}

fn connection_config() -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
}

/// A client for `url`: with `rediss://`, TLS trusting `tls_ca` only when given (else the redis
/// crate's roots); `#insecure` (no verification) is refused.
pub fn client(url: &str, tls_ca: Option<&TrustedCa>) -> redis::RedisResult<redis::Client> {
    if url.contains("#insecure") {
        return Err(redis::RedisError::from((
            redis::ErrorKind::InvalidClientConfig,
            "`#insecure` turns off TLS verification, which stackr never does; remove it",
        )));
    }
    match tls_ca {
        Some(ca) if url.starts_with("rediss://") => redis::Client::build_with_tls(
            with_resp3(url),
            TlsCertificates {
                client_tls: None,
                root_cert: Some(ca.pem().to_vec()),
            },
        ),
        _ => redis::Client::open(with_resp3(url)),
    }
}

/// A self-reconnecting connection, once Redis has answered a first time.
pub async fn connect(
    url: &SecretUrl,
    tls_ca: Option<&TrustedCa>,
) -> anyhow::Result<ConnectionManager> {
    let client = client(url.expose(), tls_ca)
        .map_err(|e| anyhow::anyhow!("REDIS_URL ({url}) cannot be used: {e}"))?;
    manager_once_up(client, url).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot connect to the service Redis {url}: {}",
            stackr_tls::refusal::full_message(&e)
        )
    })
}

/// A self-reconnecting connection to `client`, waiting up to [`crate::STARTUP_WAIT`] for its Redis to
/// answer a first time: a process may start before its Redis (on another host, or started by
/// the same boot).
pub(crate) async fn manager_once_up(
    client: redis::Client,
    shown_url: &dyn std::fmt::Display,
) -> redis::RedisResult<ConnectionManager> {
    let deadline = Instant::now() + crate::STARTUP_WAIT;
    let config = connection_config();
    loop {
        // Single attempts until one succeeds: the manager's own retries (about 10 s of them)
        // would also retry what waiting cannot fix, such as a wrong password. The PING: a Redis
        // loading its data accepts connections but answers LOADING to commands. The manager is
        // made within the attempt, so a Redis gone again just after the PING is waited for too.
        let attempt = async {
            let mut conn = client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            redis::cmd("PING").query_async::<()>(&mut conn).await?;
            ConnectionManager::new_with_config(client.clone(), manager_config()).await
        };
        // An attempt begun near the deadline ends with it: a Redis that accepts connections but
        // answers nothing would otherwise hold it for the client's own timeouts.
        let remaining = deadline.saturating_duration_since(Instant::now());
        let outcome = tokio::time::timeout(remaining, attempt)
            .await
            .unwrap_or_else(|_| Err(no_answer_within_the_wait()));
        match outcome {
            Ok(manager) => return Ok(manager),
            Err(e) if may_come_up(&e) && Instant::now() < deadline => {
                tracing::info!(redis = %shown_url, error = %e, "waiting for Redis");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) if may_come_up(&e) => return Err(unreachable_within_the_wait(&e)),
            Err(e) => return Err(e),
        }
    }
}

fn no_answer_within_the_wait() -> redis::RedisError {
    timed_out(stackr_contract::no_answer_within_startup_wait())
}

fn unreachable_within_the_wait(last: &redis::RedisError) -> redis::RedisError {
    timed_out(stackr_contract::unreachable_within_startup_wait(last))
}

fn timed_out(message: String) -> redis::RedisError {
    std::io::Error::new(std::io::ErrorKind::TimedOut, message).into()
}

/// Whether `e` is what a Redis that is not up yet gives: no answer, or "loading its data"; also
/// what a connection Redis dropped gives once, before it is made again. A refused certificate or
/// a wrong password stays as it is: no point waiting.
pub(crate) fn may_come_up(e: &redis::RedisError) -> bool {
    let not_answering = e.is_io_error() && stackr_tls::refusal::tls_refused(e).is_none();
    not_answering || e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::BusyLoading)
}

pub async fn ping(conn: &mut ConnectionManager) -> redis::RedisResult<()> {
    redis::cmd("PING")
        .query_async::<String>(conn)
        .await
        .map(|_| ())
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
        // A folder named like a parameter is part of the path, not of the query.
        assert_eq!(
            with_resp3("redis+unix:///home/ada/protocol=resp2/redis.sock?pass=x"),
            "redis+unix:///home/ada/protocol=resp2/redis.sock?pass=x&protocol=resp3"
        );
        assert_eq!(
            with_resp3("redis+unix:///home/ada/protocol=resp2/redis.sock"),
            "redis+unix:///home/ada/protocol=resp2/redis.sock?protocol=resp3"
        );
    }
}
