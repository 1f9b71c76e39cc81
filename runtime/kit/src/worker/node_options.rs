//! Job options that Node BullMQ accepts but bullmq-official cannot read.
//!
//! Node stores a job's options as JSON in its hash (`opts`) and takes any JavaScript number where
//! a count or a duration goes: `{attempts: 2, backoff: {type: 'fixed', delay: 100.5}}` is a
//! valid Node job. bullmq-official reads `opts` into integer fields and, when that fails, runs
//! the job with default options instead: one attempt, no backoff, no retention. A Node job would
//! silently lose its retries on our worker.
//!
//! What this module does instead, before the handler runs:
//! - Options bullmq-official read correctly: nothing (the check costs a round trip only for jobs
//!   whose parsed options have no `attempts`, which Node always writes).
//! - Options it could not read: each fractional or negative number is turned into the integer
//!   that behaves as Node does with the original (table below), the result is written back to
//!   the job (only while the job's lock is ours), and the job is handed back to the front of the
//!   queue without counting an attempt. Its next fetch reads the repaired options.
//! - Options that stay unreadable: the job fails for good, with a reason naming the option,
//!   rather than running with options nobody asked for.

use redis::aio::ConnectionManager;
use serde_json::{Map, Value};

/// How Node uses each numeric option, and so which integer behaves the same.
#[derive(Clone, Copy)]
enum Rounding {
    /// Node retries while `attemptsMade + 1 < attempts`: 2.5 allows 3 attempts, like 3.
    Up,
    /// Node slices with the value (`stacktrace.slice(-limit)`), which truncates; timestamps and
    /// retention counts are whole milliseconds or jobs.
    Down,
}

/// Numeric options by their path in the stored JSON. Durations round up so that nothing runs
/// earlier than asked.
const NUMERIC_OPTIONS: &[(&[&str], Rounding)] = &[
    (&["attempts"], Rounding::Up),
    (&["delay"], Rounding::Up),
    (&["backoff", "delay"], Rounding::Up),
    (&["timestamp"], Rounding::Down),
    (&["stackTraceLimit"], Rounding::Down),
    (&["kl"], Rounding::Down),
    (&["removeOnComplete"], Rounding::Down),
    (&["removeOnComplete", "count"], Rounding::Down),
    (&["removeOnComplete", "age"], Rounding::Up),
    (&["removeOnFail"], Rounding::Down),
    (&["removeOnFail", "count"], Rounding::Down),
    (&["removeOnFail", "age"], Rounding::Up),
    (&["sizeLimit"], Rounding::Down),
];

/// `KEYS[1]` job hash, `KEYS[2]` its lock; `ARGV[1]` lock token, `ARGV[2]` the repaired options.
/// The fetch that handed us the job counted a started attempt (`ats`); the job is handed back
/// unstarted, so that count is taken back: Node sees the attempts its own worker would make.
const WRITE_OPTS_LUA: &str = r#"
if redis.call("GET", KEYS[2]) ~= ARGV[1] then return 0 end
if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
redis.call("HSET", KEYS[1], "opts", ARGV[2])
redis.call("HINCRBY", KEYS[1], "ats", -1)
return 1
"#;

/// What to do with a job before running its handler.
#[derive(Debug, PartialEq)]
pub(crate) enum OptionsCheck {
    /// bullmq-official read the options as they are: run the job.
    Readable,
    /// The options were rewritten: hand the job back so that it is read again.
    Repaired,
    /// The options can't be understood: fail the job with this reason.
    Unreadable(String),
}

/// Whether bullmq-official may have replaced this job's options with defaults.
pub(crate) fn may_have_lost_options(parsed: &bullmq::JobOptions) -> bool {
    parsed.attempts.is_none()
}

/// Checks the job's stored options and repairs them if bullmq-official could not read them.
pub(crate) async fn check(
    conn: &mut ConnectionManager,
    job_key: &str,
    token: &str,
) -> redis::RedisResult<OptionsCheck> {
    let raw: Option<String> = redis::cmd("HGET")
        .arg(job_key)
        .arg("opts")
        .query_async(conn)
        .await?;
    let Some(raw) = raw else {
        return Ok(OptionsCheck::Readable);
    };
    match repair(&raw) {
        Repair::AsIs => Ok(OptionsCheck::Readable),
        Repair::Unreadable(reason) => Ok(OptionsCheck::Unreadable(reason)),
        Repair::Rewritten(repaired) => {
            let written: i64 = redis::cmd("EVAL")
                .arg(WRITE_OPTS_LUA)
                .arg(2)
                .arg(job_key)
                .arg(format!("{job_key}:lock"))
                .arg(token)
                .arg(repaired)
                .query_async(conn)
                .await?;
            Ok(if written == 1 {
                OptionsCheck::Repaired
            } else {
                // The lock is no longer ours (the job stalled and is another worker's now).
                OptionsCheck::Unreadable(
                    "the job's lock was lost before its options were read".into(),
                )
            })
        }
    }
}

#[derive(Debug, PartialEq)]
enum Repair {
    AsIs,
    Rewritten(String),
    Unreadable(String),
}

fn readable(options: &str) -> Result<(), serde_json::Error> {
    serde_json::from_str::<bullmq::JobOptions>(options).map(|_| ())
}

fn repair(raw: &str) -> Repair {
    if readable(raw).is_ok() {
        return Repair::AsIs;
    }
    let mut options = match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(options)) => options,
        Ok(other) => return Repair::Unreadable(format!("job options are not an object: {other}")),
        Err(e) => return Repair::Unreadable(format!("job options are not JSON: {e}")),
    };
    for (path, rounding) in NUMERIC_OPTIONS {
        if let Some(number) = number_at(&mut options, path) {
            round(number, *rounding);
        }
    }
    let repaired = Value::Object(options.clone()).to_string();
    if readable(&repaired).is_ok() {
        return Repair::Rewritten(repaired);
    }
    // Name the first option that still can't be read, alone, so the reason points at it.
    let culprit = options.iter().find_map(|(name, value)| {
        let alone = Value::Object(Map::from_iter([(name.clone(), value.clone())])).to_string();
        readable(&alone)
            .err()
            .map(|e| format!("job option `{name}` ({value}) cannot be understood: {e}"))
    });
    Repair::Unreadable(
        culprit.unwrap_or_else(|| format!("job options {raw} cannot be understood together")),
    )
}

fn number_at<'a>(options: &'a mut Map<String, Value>, path: &[&str]) -> Option<&'a mut Value> {
    let (last, parents) = path.split_last()?;
    let mut object = options;
    for key in parents {
        object = object.get_mut(*key)?.as_object_mut()?;
    }
    object.get_mut(*last).filter(|value| value.is_number())
}

fn round(number: &mut Value, rounding: Rounding) {
    let Some(value) = number.as_f64() else { return };
    if number.is_u64() {
        return;
    }
    let rounded = match rounding {
        Rounding::Up => value.ceil(),
        Rounding::Down => value.trunc(),
    };
    // Negative counts and durations mean "none" to Node; `as` saturates huge values.
    *number = Value::from(rounded.max(0.0) as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(raw: &str) -> Value {
        match repair(raw) {
            Repair::Rewritten(json) => serde_json::from_str(&json).unwrap(),
            other => panic!("{raw}: {other:?}"),
        }
    }

    #[test]
    fn readable_options_are_left_alone() {
        assert_eq!(
            repair(r#"{"attempts":3,"backoff":{"type":"fixed","delay":100}}"#),
            Repair::AsIs
        );
    }

    #[test]
    fn fractional_numbers_become_the_integer_node_behaves_like() {
        assert_eq!(
            rewritten(
                r#"{"attempts":2.5,"backoff":{"type":"fixed","delay":100.5},"stackTraceLimit":1.5}"#
            ),
            serde_json::json!({"attempts":3,"backoff":{"type":"fixed","delay":101},"stackTraceLimit":1})
        );
        assert_eq!(
            rewritten(r#"{"attempts":1,"removeOnComplete":{"age":3600.5,"count":10},"delay":-5}"#),
            serde_json::json!({"attempts":1,"removeOnComplete":{"age":3601,"count":10},"delay":0})
        );
    }

    #[test]
    fn unreadable_options_name_the_option() {
        let Repair::Unreadable(reason) =
            repair(r#"{"attempts":2,"backoff":{"type":"fixed","delay":"soon"}}"#)
        else {
            panic!("a string delay can't be repaired")
        };
        assert!(reason.contains("job option `backoff`"), "{reason}");
        assert!(matches!(repair("[1]"), Repair::Unreadable(_)));
    }
}
