//! A PostgreSQL server on another host that dies (a crash, a power cut) closes none of its
//! connections: a client learns it only from TCP. Without help, a query sent then waits until
//! the kernel gives up retransmitting (about 15 minutes), and once the host is back each pooled
//! connection fails the one request that uses it next.

use std::time::Duration;

/// How long sent data may stay unacknowledged before the kernel closes the connection, and how
/// soon an idle connection (one waiting for a query's answer) is probed. A server busy on a long
/// query still acknowledges both, so only a dead host trips them.
const UNACKNOWLEDGED_LIMIT: Duration = Duration::from_secs(20);
const KEEPALIVE_IDLE: Duration = Duration::from_secs(10);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
const KEEPALIVE_PROBES: u32 = 3;

/// A pooled connection last handed out this long ago or more is checked before it is handed out
/// again: after a crash and reboot of the database host, every connection left from before is
/// dead, and a check costs one round trip, paid only by connections a busy service does not keep
/// warm (and after a transaction that held one this long).
pub const CHECK_AFTER_UNUSED: Duration = Duration::from_secs(1);

/// How long the check may take: the host of a connection that does not answer it is gone.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Makes `config`'s connections notice a dead host within about 25 s (TCP keepalives and
/// `TCP_USER_TIMEOUT`; no effect on a Unix socket).
pub(crate) fn notice_a_dead_host(config: &mut tokio_postgres::Config) {
    config
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .keepalives_interval(KEEPALIVE_INTERVAL)
        .keepalives_retries(KEEPALIVE_PROBES)
        .tcp_user_timeout(UNACKNOWLEDGED_LIMIT);
}

/// The pool hook that checks a connection before it is handed out, when it was last handed out
/// [`CHECK_AFTER_UNUSED`] ago or more: it must answer an empty query. (The pool's own recycling
/// only sees connections the server closed.) A connection that fails is dropped and the pool
/// takes, or makes, another.
pub fn reuse_check() -> deadpool_postgres::Hook {
    deadpool_postgres::Hook::async_fn(|client, metrics| {
        Box::pin(async move {
            if fit_for_reuse(client, metrics.last_used()).await {
                Ok(())
            } else {
                Err(deadpool_postgres::HookError::Message(
                    "the connection's server no longer answers".into(),
                ))
            }
        })
    })
}

async fn fit_for_reuse(client: &tokio_postgres::Client, unused_for: Duration) -> bool {
    if unused_for < CHECK_AFTER_UNUSED {
        return true;
    }
    matches!(
        tokio::time::timeout(CHECK_TIMEOUT, client.simple_query("")).await,
        Ok(Ok(_))
    )
}
