//! Counts a job handed back at shutdown as a stall, the way BullMQ's stalled check
//! (`moveStalledJobsToWait`) counts a job whose worker died.
//!
//! Why: a hand-back counts no attempt, so a job whose handler never returns came back at every
//! shutdown (each deploy, each reboot) for ever, taking a worker slot each time and never
//! failing. Node's worker does not hand jobs back: its `close()` waits for them, the service
//! manager kills it, and the next stalled check counts the job in its `stc` field; past
//! `maxStalledCount` it sets the deferred failure (`defa`) that the next fetch fails the job
//! with. This does the same, at the hand-back, so the job ends as it would under Node: once
//! handed back (`stc` 1, with the default limit of 1) it runs again; handed back once more, it
//! fails with BullMQ's reason without running. Job-scheduler iterations are never failed this
//! way, as in BullMQ's script. Nothing changes unless the job's lock is still ours.

use redis::aio::ConnectionManager;

/// The reason BullMQ's stalled check stores in `defa`, which the next fetch fails the job with.
pub(crate) const STALLED_LIMIT_REASON: &str = "job stalled more than allowable limit";

/// KEYS: job, its lock, the queue's events stream, meta, repeat.
/// ARGV: the lock's token, maxStalledCount, job id, `STALLED_LIMIT_REASON`.
const COUNT_STALL_LUA: &str = r#"
if redis.call("GET", KEYS[2]) ~= ARGV[1] then
  return -1
end
local stalled = redis.call("HINCRBY", KEYS[1], "stc", 1)
local scheduler = redis.call("HGET", KEYS[1], "rjk")
local iteration = false
if scheduler then
  iteration = redis.call("EXISTS", KEYS[5] .. ":" .. scheduler) == 1
    or redis.call("ZSCORE", KEYS[5], scheduler) ~= false
end
if stalled > tonumber(ARGV[2]) and not iteration then
  redis.call("HSET", KEYS[1], "defa", ARGV[4])
end
local max_events = redis.call("HGET", KEYS[4], "opts.maxLenEvents") or 10000
redis.call("XADD", KEYS[3], "MAXLEN", "~", max_events, "*", "event", "stalled", "jobId", ARGV[3])
return stalled
"#;

/// Counts the stall of the job at `job_key` (`<prefix>:<queue>:<id>`) held with `token`.
/// Returns the job's stalled count, or `None` when its lock was no longer ours (nothing done).
pub(crate) async fn count(
    conn: &mut ConnectionManager,
    key_prefix: &str,
    job_id: &str,
    token: &str,
    max_stalled_count: u32,
) -> redis::RedisResult<Option<u64>> {
    let stalled: i64 = redis::cmd("EVAL")
        .arg(COUNT_STALL_LUA)
        .arg(5)
        .arg(format!("{key_prefix}{job_id}"))
        .arg(format!("{key_prefix}{job_id}:lock"))
        .arg(format!("{key_prefix}events"))
        .arg(format!("{key_prefix}meta"))
        .arg(format!("{key_prefix}repeat"))
        .arg(token)
        .arg(max_stalled_count)
        .arg(job_id)
        .arg(STALLED_LIMIT_REASON)
        .query_async(conn)
        .await?;
    Ok(u64::try_from(stalled).ok())
}
