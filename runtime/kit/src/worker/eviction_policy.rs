//! The Redis's `maxmemory-policy`, which BullMQ requires to be `noeviction`: under any other, a
//! Redis short of memory evicts keys, a job's hash, its lock or the queue's own lists, and jobs
//! are lost or run twice. Node's Queue and Worker warn when they connect to such a Redis
//! ("IMPORTANT! Eviction policy is …"); bullmq-official does not, so the producer's connection,
//! which every worker makes too (its lock renewal's), does.

use tracing::{debug, warn};

/// The one policy under which Redis never drops a key it holds.
const NO_EVICTION: &str = "noeviction";

/// Logs a warning when the Redis behind `conn` may evict keys. Best effort: a Redis that does
/// not answer `INFO` (a proxy, a command renamed away) is let be.
pub(crate) async fn warn_if_keys_may_be_evicted(conn: &mut impl redis::aio::ConnectionLike) {
    let info: String = match redis::cmd("INFO").arg("memory").query_async(conn).await {
        Ok(info) => info,
        Err(err) => {
            debug!(error = %err, "cannot read Redis's maxmemory-policy");
            return;
        }
    };
    if let Some(policy) = policy(&info).filter(|policy| *policy != NO_EVICTION) {
        warn!(
            policy,
            "Redis's maxmemory-policy is not {NO_EVICTION}: short of memory, it will evict jobs and \
             their locks (lost or run twice); BullMQ requires maxmemory-policy {NO_EVICTION}"
        );
    }
}

/// The `maxmemory_policy` of an `INFO memory` answer.
fn policy(info: &str) -> Option<&str> {
    info.lines()
        .find_map(|line| line.strip_prefix("maxmemory_policy:"))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_read_from_info_memory() {
        let info = "# Memory\r\nused_memory:1\r\nmaxmemory_policy:allkeys-lru\r\nmem_fragmentation_ratio:1\r\n";
        assert_eq!(policy(info), Some("allkeys-lru"));
        assert_eq!(policy("# Memory\r\nused_memory:1\r\n"), None);
    }
}
