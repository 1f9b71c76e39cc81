//! Job options that Node BullMQ accepts but bullmq-official cannot read.
//!
//! Node stores a job's options as JSON in its hash (`opts`) and its worker reads them as
//! JavaScript does: any number where a count or a duration goes
//! (`backoff: {type: 'fixed', delay: 100.5}`), a string that holds a number (`attempts: "2"`
//! compares as 2), any value as a flag (`lifo: 1`). bullmq-official reads `opts` into integer,
//! boolean and string fields and, when one does not fit, runs the job with default options
//! instead: one attempt, no backoff, no retention. A Node job would silently lose its retries on
//! our worker.
//!
//! What this module does instead, before the handler runs:
//! - Options bullmq-official read correctly: nothing. The check costs a round trip only for
//!   jobs whose parsed options have no `attempts` (Node always writes it, so bullmq-official
//!   fell back to defaults) or a backoff it would misread ([`needs_check`]).
//! - Options it could not read: each value is rewritten to the one that behaves as Node does
//!   with the original (`normalize.rs`), the result is written back to the job (only while the
//!   job's lock is ours), and the job is handed back to the front of the queue without counting
//!   an attempt. Its next fetch reads the rewritten options:
//!   - numbers and numeric strings become whole numbers (rounded as Node behaves: attempts and
//!     durations up, counts down), negative ones 0, and larger than the field's largest value
//!     (`attempts: Number.MAX_SAFE_INTEGER`, "retry forever") that value;
//!   - flags become `true`/`false` by JavaScript's truthiness, ids (`jobId`, a parent's or a
//!     deduplication's `id`) strings, a repeat's dates epoch milliseconds;
//!   - a bare number as `backoff` becomes `{type: "fixed", delay}`, as Node's worker reads it,
//!     and a value JavaScript takes for false (`false`, `""`) none;
//!     a retry delay of -1, Node's "never retry", becomes the attempts made until then (a
//!     fixed delay of -1: `attempts: 1`; an exponential delay above -1.5 and below 0 reaches
//!     -1 after some attempts);
//!   - a stack trace limit whose whole part is 0, other than the number 0, keeps every entry
//!     on Node, as no limit does: it is left out;
//!   - a negative retention count (`removeOnComplete: -1`, `{count: -1}`), which keeps every
//!     finished job on Node, becomes `false`, or the count is left out.
//! - Options that stay unreadable: the job fails for good, with a reason naming the option,
//!   rather than running with options nobody asked for. Except `sizeLimit`, which only
//!   `Queue.add` reads: one without a number in it is left out, and the job runs as on Node.
//! - A backoff type other than `fixed` or `exponential` (this worker has no custom backoff
//!   strategies): the job runs, and an attempt that fails while attempts are left fails it for
//!   good, with the handler's reason and why it is not retried ([`not_retried`]).
//! - A job scheduler's iteration count (`repeat.count`) above the largest time, as every count of
//!   milliseconds or iterations here, becomes that largest value: bullmq-official counts the
//!   next iteration as `count + 1`, which overflows at the largest count it holds. To Node the
//!   two counts mean the same (past the `limit`) unless the `limit` is about that large too.
//!   This spares the fetches after the repair only: bullmq-official counts `count + 1` for the
//!   fetch that read the largest count too, after the job is handed back, from the options it
//!   read then. In debug builds that panics in its per-job task, whose entry in its list of
//!   active jobs then stays until this worker finishes the same job (the handed-back job runs
//!   next, so it usually does; otherwise shutdown waits out bullmq-official's close timeout);
//!   in release builds the count wraps to 0, and a scheduler with a `limit` that Node's worker
//!   ends gets iterations counted from 0 again, up to its `limit`. Not worked around: it
//!   happens inside bullmq-official, whatever the processor returns
//!   (`tests/it/worker_scheduler_counts.rs` shows the panic in its output).
//! - An exponential backoff of 0 ms (after the above: a negative delay that retries at once is
//!   0) becomes a fixed one of 0 ms: the same waits, without bullmq-official's `2^(n-1)`, which
//!   overflows past 64 attempts.
//! - An exponential backoff whose next wait, `2^(n-1) × delay` after attempt n, is past the
//!   largest wait (2^63 - 1 ms) becomes a fixed backoff of that largest wait. The attempts made
//!   are the job's stored count (`atm`), which its producer may have written as it pleased
//!   (retries alone take 570 million years to get there at 1 s), and bullmq-official's
//!   `2^(n-1) × delay` overflows there: in debug builds a panic in its per-job task, which
//!   leaves the job active and holds up shutdown; in release builds a wrap to a negative wait,
//!   a retry at once. Every later wait is longer still (attempts only add up): each retry
//!   waits the largest wait, where Node's waits are longer than any here. A job whose attempts
//!   made are taken back afterwards (Node's `retry` with `resetAttemptsMade`) keeps that wait.

mod javascript;
mod normalize;

use redis::aio::ConnectionManager;
use serde_json::{Map, Value};

/// `KEYS[1]` job hash, `KEYS[2]` its lock; `ARGV[1]` lock token, `ARGV[2]` the new options,
/// `ARGV[3]` "1" when the job is handed back unstarted: the fetch that handed us the job counted
/// a started attempt (`ats`), which is then taken back, so that Node sees the attempts its own
/// worker would make.
const WRITE_OPTS_LUA: &str = r#"
if redis.call("GET", KEYS[2]) ~= ARGV[1] then return 0 end
if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
redis.call("HSET", KEYS[1], "opts", ARGV[2])
if ARGV[3] == "1" then redis.call("HINCRBY", KEYS[1], "ats", -1) end
return 1
"#;

/// Whether a job whose options are rewritten runs now or is handed back to be fetched again.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Then {
    Run,
    HandBack,
}

/// Replaces the stored options of the job at `job_key` with `options`, while its lock is
/// `token`'s; false when the lock is no longer ours (the job stalled and is another worker's).
pub(crate) async fn write(
    conn: &mut ConnectionManager,
    job_key: &str,
    token: &str,
    options: &str,
    then: Then,
) -> redis::RedisResult<bool> {
    let written: i64 = redis::cmd("EVAL")
        .arg(WRITE_OPTS_LUA)
        .arg(2)
        .arg(job_key)
        .arg(format!("{job_key}:lock"))
        .arg(token)
        .arg(options)
        .arg(if then == Then::HandBack { "1" } else { "0" })
        .query_async(conn)
        .await?;
    Ok(written == 1)
}

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

/// Whether bullmq-official may have replaced this job's options with defaults, or read a backoff
/// it cannot act on as Node would: an exponential one of 0 ms included, whose `2^(n-1)`
/// overflows past 64 attempts (where Node, and a fixed backoff of 0, retry at once), and one
/// whose wait after the `attempts_made` (the job's stored count) and one more outgrows the
/// largest wait, where that `2^(n-1) × delay` overflows too. Or a job
/// scheduler's iteration count at the largest a count holds: bullmq-official counts the next
/// iteration as `count + 1` after the handler, an overflow that panics in its task (debug
/// builds) and leaves the job in its active list, which holds up shutdown.
pub(crate) fn needs_check(parsed: &bullmq::JobOptions, attempts_made: u32) -> bool {
    use bullmq::types::BackoffStrategy::{Exponential, Fixed};
    let iteration = parsed.repeat.as_ref().and_then(|repeat| repeat.count);
    parsed.attempts.is_none()
        || iteration.is_some_and(|count| count > normalize::MILLIS)
        || match &parsed.backoff {
            Some(Exponential(0)) => true,
            Some(Exponential(delay)) => {
                normalize::exponential_wait(*delay, attempts_made).is_none()
            }
            Some(Fixed(delay)) => *delay > normalize::MILLIS,
            _ => false,
        }
}

/// The backoffs Node knows without a custom strategy.
const BACKOFF_TYPES: [&str; 2] = ["fixed", "exponential"];

/// The type of the job's backoff when this worker has no strategy for it (`linear`): any
/// type but [`BACKOFF_TYPES`], which bullmq-official reads as a custom one.
pub(crate) fn unknown_backoff(parsed: &bullmq::JobOptions) -> Option<&str> {
    match &parsed.backoff {
        Some(bullmq::types::BackoffStrategy::Custom(name)) => Some(name),
        _ => None,
    }
}

/// The reason a failed attempt ends a job with when its retry would need the unknown
/// `backoff`: the handler's, and why the job is not retried.
pub(crate) fn not_retried(reason: &str, backoff: &str) -> String {
    let known = BACKOFF_TYPES
        .map(|name| format!("\"{name}\""))
        .join(" and ");
    let why = format!("the backoffs this worker knows are {known}");
    let option = normalize::unreadable("backoff.type", &Value::from(backoff), &why);
    format!("{reason} (not retried: {option})")
}

/// Checks the job's stored options and repairs them if bullmq-official could not read them, or
/// could not act on them as Node would after the `attempts_made` it read.
pub(crate) async fn check(
    conn: &mut ConnectionManager,
    job_key: &str,
    token: &str,
    attempts_made: u32,
) -> redis::RedisResult<OptionsCheck> {
    let Some(raw) = stored(conn, job_key).await? else {
        return Ok(OptionsCheck::Readable);
    };
    match repair(&raw, attempts_made) {
        Repair::AsIs => Ok(OptionsCheck::Readable),
        Repair::Unreadable(reason) => Ok(OptionsCheck::Unreadable(reason)),
        Repair::Rewritten(repaired) => Ok(
            if write(conn, job_key, token, &repaired, Then::HandBack).await? {
                OptionsCheck::Repaired
            } else {
                OptionsCheck::Unreadable(
                    "the job's lock was lost before its options were read".into(),
                )
            },
        ),
    }
}

/// `KEYS[1]` job hash; `ARGV[1]` the options read, `ARGV[2]` their repair: written only over
/// the options read.
const REPLACE_OPTS_LUA: &str = r#"
if redis.call("HGET", KEYS[1], "opts") ~= ARGV[1] then return 0 end
redis.call("HSET", KEYS[1], "opts", ARGV[2])
return 1
"#;

/// Repairs the options of the parent at `parent_key` of a child about to fail for good, which
/// fails the parent with `failParentOnFailure`: bullmq-official fails such a parent as soon as
/// it fetches it, before this module sees it, with the options it read then (defaults for all
/// of them when one is unreadable, `removeOnFail` among them). A parent the child does not fail
/// gets the repair its fetch would give it. The parent waits for its children, unlocked: the
/// options are replaced only if they are still those read here.
pub(crate) async fn repair_parent(
    conn: &mut ConnectionManager,
    parent_key: &str,
) -> redis::RedisResult<()> {
    let Some(raw) = stored(conn, parent_key).await? else {
        return Ok(());
    };
    // As for a job that has made no attempt: a parent the child fails is failed for good, no
    // retry waited for, and any other parent's fetch repairs what its own attempts call for.
    if let Repair::Rewritten(repaired) = repair(&raw, 0) {
        redis::cmd("EVAL")
            .arg(REPLACE_OPTS_LUA)
            .arg(1)
            .arg(parent_key)
            .arg(raw)
            .arg(repaired)
            .query_async::<i64>(conn)
            .await?;
    }
    Ok(())
}

/// The options stored in the job hash at `job_key`, as written.
async fn stored(conn: &mut ConnectionManager, job_key: &str) -> redis::RedisResult<Option<String>> {
    redis::cmd("HGET")
        .arg(job_key)
        .arg("opts")
        .query_async(conn)
        .await
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

fn repair(raw: &str, attempts_made: u32) -> Repair {
    // Node reads empty options as none (`JSON.parse(rawOpts || '{}')`), as bullmq-official's
    // defaults do.
    if raw.is_empty() {
        return Repair::AsIs;
    }
    let original = match serde_json::from_str::<Value>(raw) {
        Ok(original) => original,
        Err(e) => return Repair::Unreadable(format!("job options are not JSON: {e}")),
    };
    let Value::Object(mut options) = original.clone() else {
        return Repair::Unreadable(format!("job options are not an object: {original}"));
    };
    if let Err(reason) = normalize::normalize(&mut options, attempts_made) {
        return Repair::Unreadable(reason);
    }
    let unchanged = original.as_object() == Some(&options);
    let rewritten = Value::Object(options);
    let text = rewritten.to_string();
    match readable(&text) {
        Ok(()) if unchanged => Repair::AsIs,
        Ok(()) => Repair::Rewritten(text),
        Err(_) => Repair::Unreadable(culprit(&rewritten, raw)),
    }
}

/// The first option that still can't be read, alone, so that the reason points at it.
fn culprit(options: &Value, raw: &str) -> String {
    options
        .as_object()
        .into_iter()
        .flatten()
        .find_map(|(name, value)| {
            let alone = Value::Object(Map::from_iter([(name.clone(), value.clone())])).to_string();
            let error = readable(&alone).err()?;
            Some(normalize::unreadable(name, value, &error.to_string()))
        })
        .unwrap_or_else(|| format!("job options {raw} cannot be understood together"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rewritten(raw: &str) -> Value {
        rewritten_after(raw, 0)
    }

    /// Whether the options a job that has made no attempt was fetched with are checked.
    fn checked(parsed: &bullmq::JobOptions) -> bool {
        needs_check(parsed, 0)
    }

    /// `raw` rewritten for a job that has made `attempts_made` attempts.
    fn rewritten_after(raw: &str, attempts_made: u32) -> Value {
        match repair(raw, attempts_made) {
            Repair::Rewritten(json) => serde_json::from_str(&json).unwrap(),
            other => panic!("{raw}: {other:?}"),
        }
    }

    #[test]
    fn readable_options_are_left_alone() {
        assert_eq!(
            repair(
                r#"{"attempts":3,"backoff":{"type":"fixed","delay":100}}"#,
                0
            ),
            Repair::AsIs
        );
        assert_eq!(repair("", 0), Repair::AsIs);
    }

    #[test]
    fn fractional_numbers_become_the_integer_node_behaves_like() {
        assert_eq!(
            rewritten(
                r#"{"attempts":2.5,"backoff":{"type":"fixed","delay":100.5},"stackTraceLimit":1.5}"#
            ),
            json!({"attempts":3,"backoff":{"type":"fixed","delay":101},"stackTraceLimit":1})
        );
        assert_eq!(
            rewritten(r#"{"attempts":1,"removeOnComplete":{"age":3600.5,"count":10},"delay":-5}"#),
            json!({"attempts":1,"removeOnComplete":{"age":3601,"count":10},"delay":0})
        );
    }

    #[test]
    fn values_javascript_reads_otherwise_become_what_node_makes_of_them() {
        assert_eq!(
            rewritten(
                r#"{"attempts":"2","lifo":1,"jobId":123,"parent":{"id":5,"queue":"bull:q"},"de":{"id":7,"ttl":-1},"priority":4294967296}"#
            ),
            json!({"attempts":2,"lifo":true,"jobId":"123","parent":{"id":"5","queue":"bull:q"},"de":{"id":"7","ttl":0},"priority":4294967295_u64})
        );
        assert_eq!(
            rewritten(
                r#"{"attempts":9007199254740991,"repeat":{"every":1000.5,"endDate":"2099-01-01"}}"#
            ),
            json!({"attempts":4294967295_u64,"repeat":{"every":1001,"endDate":4070908800000_u64}})
        );
        // Node's worker reads a bare number as a fixed backoff.
        assert_eq!(
            rewritten(r#"{"attempts":2,"backoff":10.5}"#),
            json!({"attempts":2,"backoff":{"type":"fixed","delay":11}})
        );
    }

    #[test]
    fn a_backoff_delay_of_minus_one_never_retries() {
        for backoff in [
            r#"-1"#,
            r#"{"type":"fixed","delay":-1}"#,
            r#"{"type":"exponential","delay":"-1"}"#,
        ] {
            let options = rewritten(&format!(r#"{{"attempts":5,"backoff":{backoff}}}"#));
            assert_eq!(options["attempts"], 1, "{backoff}: {options}");
        }
        // An exponential backoff's retry after attempt n waits round(2^(n-1) × delay): with
        // -0.25 it waits -0, -0, then -1 after the third.
        for (delay, attempts) in [
            ("-0.25", 3),
            ("-0.5", 2),
            ("-0.6", 1),
            ("-1.5", 1),
            ("-2", 5),
        ] {
            let options = rewritten(&format!(
                r#"{{"attempts":5,"backoff":{{"type":"exponential","delay":{delay}}}}}"#
            ));
            assert_eq!(options["attempts"], attempts, "{delay}: {options}");
        }
        // An exponential backoff of 0 (or one that retries at once) waits 0 after every attempt.
        for delay in ["0", "-2", "null"] {
            assert_eq!(
                rewritten(&format!(
                    r#"{{"attempts":70,"backoff":{{"type":"exponential","delay":{delay}}}}}"#
                )),
                json!({"attempts":70,"backoff":{"type":"fixed","delay":0}}),
                "{delay}"
            );
        }
        // Any other negative delay retries at once, on Node as here.
        assert_eq!(
            rewritten(r#"{"attempts":5,"backoff":{"type":"fixed","delay":-100}}"#),
            json!({"attempts":5,"backoff":{"type":"fixed","delay":0}})
        );
    }

    /// Node's `Job` reads a backoff JavaScript takes for false (`Backoffs.normalize`) as none:
    /// each failed attempt is retried at once. Its `Queue.add` never stores one, other producers
    /// may.
    #[test]
    fn a_falsy_backoff_is_none() {
        for backoff in ["false", r#""""#] {
            assert_eq!(
                rewritten(&format!(r#"{{"attempts":3,"backoff":{backoff}}}"#)),
                json!({"attempts":3,"backoff":null}),
                "{backoff}"
            );
        }
    }

    /// Options made of odd values (each a pick from `VALUES` under a name from `NAMES`, by a
    /// fixed-seed generator): whatever the repair makes of them, bullmq-official reads it, and
    /// the job's next fetch finds nothing more to repair. A repair that changed its own output
    /// would hand the job back on every fetch, for ever.
    #[test]
    fn a_repaired_job_is_read_as_is_on_its_next_fetch() {
        const NAMES: &[&str] = &[
            "attempts",
            "delay",
            "priority",
            "timestamp",
            "prevMillis",
            "stackTraceLimit",
            "kl",
            "sizeLimit",
            "lifo",
            "jobId",
            "repeatJobKey",
            "parent",
            "de",
            "repeat",
            "removeOnComplete",
            "removeOnFail",
            "backoff",
            "backoff",
        ];
        let values = [
            json!(null),
            json!(false),
            json!(true),
            json!(0),
            json!(-0.0),
            json!(-1),
            json!(2.5),
            json!(-0.5),
            json!(-0.7),
            json!(-1.4),
            json!(1e308),
            json!(-1e308),
            json!(1e-300),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(u32::MAX),
            json!(""),
            json!(" 3 "),
            json!("-1"),
            json!("abc"),
            json!("2099-01-01"),
            json!([]),
            json!({}),
            json!({"type": "exponential", "delay": -0.5}),
            json!({"type": "exponential", "delay": 1e300}),
            json!({"type": "exponential", "delay": 1}),
            json!({"type": "exponential"}),
            json!({"type": "fixed", "delay": -1}),
            json!({"type": "fixed", "delay": 1e30}),
            json!({"type": "linear", "delay": 5}),
            json!({"age": 1.5, "count": "-1", "limit": -3}),
            json!({"every": 1e18, "count": u64::MAX, "limit": -1}),
            json!({"id": 1, "queue": 2}),
        ];
        let mut seed = 0x5eed_u64;
        let mut pick = |len: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as usize % len
        };
        for _ in 0..5_000 {
            let options: Map<String, Value> = (0..pick(5))
                .map(|_| {
                    (
                        NAMES[pick(NAMES.len())].to_owned(),
                        values[pick(values.len())].clone(),
                    )
                })
                .collect();
            let raw = Value::Object(options).to_string();
            for attempts_made in [0, 1, 63, 64, u32::MAX] {
                let read = match repair(&raw, attempts_made) {
                    Repair::Rewritten(repaired) => repaired,
                    Repair::AsIs => raw.clone(),
                    Repair::Unreadable(_) => continue,
                };
                let parsed = serde_json::from_str::<bullmq::JobOptions>(&read)
                    .unwrap_or_else(|e| panic!("{raw} read as {read}: {e}"));
                if needs_check(&parsed, attempts_made) {
                    assert_eq!(
                        repair(&read, attempts_made),
                        Repair::AsIs,
                        "{raw} read as {read}, after {attempts_made} attempts"
                    );
                }
            }
        }
    }

    #[test]
    fn a_negative_retention_count_keeps_every_finished_job() {
        assert_eq!(
            rewritten(
                r#"{"attempts":1,"removeOnComplete":-1,"removeOnFail":{"count":-1,"age":3600}}"#
            ),
            json!({"attempts":1,"removeOnComplete":false,"removeOnFail":{"age":3600}})
        );
        // A string is a flag to Node: "10" removes the job, "" keeps it.
        assert_eq!(
            rewritten(r#"{"attempts":1,"removeOnComplete":"10","removeOnFail":""}"#),
            json!({"attempts":1,"removeOnComplete":true,"removeOnFail":false})
        );
    }

    #[test]
    fn a_backoff_bullmq_official_would_misread_is_checked() {
        let parsed = |raw: &str| serde_json::from_str::<bullmq::JobOptions>(raw).unwrap();
        assert!(!checked(&parsed(
            r#"{"attempts":2,"backoff":{"type":"fixed","delay":10}}"#
        )));
        // A type without a strategy here runs, and is dealt with when an attempt fails.
        let linear = parsed(r#"{"attempts":2,"backoff":{"type":"linear","delay":10}}"#);
        assert!(!checked(&linear));
        assert_eq!(unknown_backoff(&linear), Some("linear"));
        assert_eq!(
            not_retried("boom", "linear"),
            "boom (not retried: job option `backoff.type` (\"linear\") cannot be understood: \
             the backoffs this worker knows are \"fixed\" and \"exponential\")"
        );
        assert!(checked(&parsed(
            r#"{"attempts":2,"backoff":{"type":"fixed","delay":10000000000000000000}}"#
        )));
        assert!(checked(&parsed(r#"{}"#)));
        // bullmq-official's next iteration would count `u64::MAX + 1`.
        let counted = r#"{"attempts":1,"repeat":{"every":1000,"count":18446744073709551615}}"#;
        assert!(checked(&parsed(counted)));
        assert_eq!(
            rewritten(counted),
            json!({"attempts":1,"repeat":{"every":1000,"count":i64::MAX}})
        );
        assert!(!checked(&parsed(
            r#"{"attempts":1,"repeat":{"every":1000,"count":9223372036854775807}}"#
        )));
        assert_eq!(
            rewritten(r#"{"attempts":2,"backoff":{"type":"fixed","delay":10000000000000000000}}"#),
            json!({"attempts":2,"backoff":{"type":"fixed","delay":i64::MAX}})
        );
    }

    #[test]
    fn an_exponential_wait_past_the_largest_becomes_the_largest() {
        let parsed = |raw: &str| serde_json::from_str::<bullmq::JobOptions>(raw).unwrap();
        let exponential = |delay: u64| {
            format!(r#"{{"attempts":100,"backoff":{{"type":"exponential","delay":{delay}}}}}"#)
        };
        let longest = json!({"attempts":100,"backoff":{"type":"fixed","delay":i64::MAX}});
        // After attempt n = attempts made + 1, Node waits 2^(n-1) × delay: 2^63 - 1 ms at most.
        for (attempts_made, delay) in [(64, 1), (63, 1), (54, 1_000), (1, 1 << 62), (200, 1)] {
            let options = exponential(delay);
            assert!(needs_check(&parsed(&options), attempts_made), "{options}");
            assert_eq!(
                rewritten_after(&options, attempts_made),
                longest,
                "{options}"
            );
        }
        for (attempts_made, delay) in [(62, 1), (53, 1_000), (0, (1 << 63) - 1)] {
            let options = exponential(delay);
            assert!(!needs_check(&parsed(&options), attempts_made), "{options}");
            assert_eq!(repair(&options, attempts_made), Repair::AsIs, "{options}");
        }
        // A fixed backoff waits the same after any attempt.
        let fixed = r#"{"attempts":100,"backoff":{"type":"fixed","delay":1000}}"#;
        assert!(!needs_check(&parsed(fixed), u32::MAX));
        assert_eq!(repair(fixed, u32::MAX), Repair::AsIs);
    }

    #[test]
    fn unreadable_options_name_the_option() {
        let reason = |raw: &str| match repair(raw, 0) {
            Repair::Unreadable(reason) => reason,
            other => panic!("{raw}: {other:?}"),
        };
        let cases = [
            (
                r#"{"attempts":2,"backoff":{"type":"fixed","delay":"soon"}}"#,
                "job option `backoff.delay`",
            ),
            (
                r#"{"attempts":2,"backoff":{"type":7,"delay":10}}"#,
                "job option `backoff.type`",
            ),
            (r#"{"attempts":2,"backoff":"10"}"#, "job option `backoff`"),
            (r#"{"attempts":"many"}"#, "job option `attempts`"),
            (
                r#"{"removeOnFail":{"age":"old"}}"#,
                "job option `removeOnFail.age`",
            ),
            (
                r#"{"repeat":{"every":1000,"endDate":"someday"}}"#,
                "job option `repeat.endDate`",
            ),
            ("[1]", "not an object"),
            ("{not json", "not JSON"),
        ];
        for (raw, named) in cases {
            let reason = reason(raw);
            assert!(reason.contains(named), "{raw}: {reason}");
        }
    }
}
