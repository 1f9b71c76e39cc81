//! Appends a line to a job's log (`<job key>:logs`), trimmed to the job's `keepLogs`.
//!
//! Why not bullmq-official's `Job::log`: it trims by its own `keep_logs` field, which it reads
//! from a `keepLogs` key, while Node's Queue stores the option under its short name `kl`. A
//! Node job's logs would grow past the limit on our worker. This reads the limit from the stored
//! options, under either name, in the same script that appends.

use redis::aio::ConnectionManager;

/// `KEYS[1]` job hash, `KEYS[2]` its log list; `ARGV[1]` the line. Returns the log's length,
/// or -1 when the job no longer exists (nothing is written then).
const APPEND_LUA: &str = r#"
if redis.call("EXISTS", KEYS[1]) == 0 then return -1 end
local count = redis.call("RPUSH", KEYS[2], ARGV[1])
local ok, opts = pcall(cjson.decode, redis.call("HGET", KEYS[1], "opts") or "{}")
if ok and type(opts) == "table" then
  local keep = tonumber(opts["kl"] or opts["keepLogs"])
  if keep and keep >= 1 then
    keep = math.floor(keep)
    redis.call("LTRIM", KEYS[2], -keep, -1)
    count = math.min(count, keep)
  end
end
return count
"#;

/// Appends `line`; `Ok(None)` when the job no longer exists.
pub(crate) async fn append(
    conn: &mut ConnectionManager,
    job_key: &str,
    line: &str,
) -> redis::RedisResult<Option<u64>> {
    let count: i64 = redis::cmd("EVAL")
        .arg(APPEND_LUA)
        .arg(2)
        .arg(job_key)
        .arg(format!("{job_key}:logs"))
        .arg(line)
        .query_async(conn)
        .await?;
    Ok(u64::try_from(count).ok())
}
