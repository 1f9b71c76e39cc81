//! Writes a failed attempt's `failedReason` and `stacktrace` onto the job hash, and the
//! `stacktrace` of a job failed without its processor running.
//!
//! Why this exists: Node BullMQ's `Job.moveToFailed` sends `failedReason` and the grown
//! `stacktrace` array as `fieldsToUpdate` to `retryJob`/`moveToDelayed`/`moveToFinished`, so
//! even an attempt that will be retried leaves its reason on the job. bullmq-official 1.4.4
//! passes an empty `fieldsToUpdate` on every path: after a failed-then-retried attempt Node
//! would see no `failedReason` and an empty `stacktrace`. We write the same two fields, under
//! the same condition the scripts use (the lock is still ours), just before handing the error
//! to bullmq-official. The final failure's `failedReason` is then written again, identically,
//! by `moveToFinished`.

use redis::aio::ConnectionManager;

/// `KEYS[1]` job hash, `KEYS[2]` its lock; `ARGV[1]` lock token, `ARGV[2]` failedReason,
/// `ARGV[3]` stack entry, `ARGV[4]` stackTraceLimit or "" for none.
/// The stacktrace is a JSON array of strings, newest last, trimmed like Node's `updateStacktrace`.
const RECORD_FAILURE_LUA: &str = r#"
if redis.call("GET", KEYS[2]) ~= ARGV[1] then return 0 end
if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
local traces = {}
local raw = redis.call("HGET", KEYS[1], "stacktrace")
if raw then
  local ok, decoded = pcall(cjson.decode, raw)
  if ok and type(decoded) == "table" then traces = decoded end
end
table.insert(traces, ARGV[3])
local limit = tonumber(ARGV[4])
if limit then
  if limit == 0 then traces = {} end
  while #traces > limit do table.remove(traces, 1) end
end
local encoded = "[]"
if #traces > 0 then encoded = cjson.encode(traces) end
redis.call("HSET", KEYS[1], "failedReason", ARGV[2], "stacktrace", encoded)
return 1
"#;

/// `KEYS[1]` job hash, `KEYS[2]` the failed set; `ARGV[1]` job id, `ARGV[2]` failedReason,
/// `ARGV[3]` stack entry. For a job failed for good with that reason and no stack recorded
/// (none is: its processor never ran), writes the entry, unless `stackTraceLimit` is 0.
const RECORD_UNPROCESSED_LUA: &str = r#"
if not redis.call("ZSCORE", KEYS[2], ARGV[1]) then return 0 end
if redis.call("HGET", KEYS[1], "failedReason") ~= ARGV[2] then return 0 end
local recorded = redis.call("HGET", KEYS[1], "stacktrace")
if recorded and recorded ~= "[]" then return 0 end
local ok, opts = pcall(cjson.decode, redis.call("HGET", KEYS[1], "opts") or "{}")
if ok and type(opts) == "table" and opts["stackTraceLimit"] == 0 then return 0 end
redis.call("HSET", KEYS[1], "stacktrace", cjson.encode({ARGV[3]}))
return 1
"#;

/// The failure to record for one attempt.
pub(crate) struct FailedAttempt<'a> {
    pub job_key: &'a str,
    pub token: &'a str,
    pub reason: &'a str,
    /// The new `stacktrace` entry, in Node's `err.stack` format.
    pub stack: &'a str,
    pub stack_trace_limit: Option<u32>,
}

pub(crate) async fn record(
    conn: &mut ConnectionManager,
    attempt: FailedAttempt<'_>,
) -> redis::RedisResult<()> {
    let limit = attempt
        .stack_trace_limit
        .map(|l| l.to_string())
        .unwrap_or_default();
    redis::cmd("EVAL")
        .arg(RECORD_FAILURE_LUA)
        .arg(2)
        .arg(attempt.job_key)
        .arg(format!("{}:lock", attempt.job_key))
        .arg(attempt.token)
        .arg(attempt.reason)
        .arg(attempt.stack)
        .arg(limit)
        .query_async::<i64>(conn)
        .await
        .map(|_| ())
}

/// Records the stack of a job bullmq-official failed for good without running its processor:
/// a deferred failure (`defa`: a child failed under `failParentOnFailure`, or the job stalled
/// too often). Node's worker fails those with an `UnrecoverableError`, whose stack it stores.
pub(crate) async fn record_unprocessed(
    conn: &mut ConnectionManager,
    key_prefix: &str,
    job_id: &str,
    reason: &str,
    stack: &str,
) -> redis::RedisResult<()> {
    redis::cmd("EVAL")
        .arg(RECORD_UNPROCESSED_LUA)
        .arg(2)
        .arg(format!("{key_prefix}{job_id}"))
        .arg(format!("{key_prefix}failed"))
        .arg(job_id)
        .arg(reason)
        .arg(stack)
        .query_async::<i64>(conn)
        .await
        .map(|_| ())
}
