//! Each option Node's worker reads, rewritten to the form bullmq-official reads that means the
//! same to both workers (the module docs list what changes).

use serde_json::{Map, Value};

use super::javascript::{self, Rounding};

/// What an option's value is to Node, and so what it is rewritten to. A `null` stays: to both
/// workers it is the option left out.
#[derive(Clone, Copy)]
enum Kind {
    /// A whole number: JavaScript's number of the value, rounded, from 0 to the given largest
    /// value (bullmq-official's field).
    Count(Rounding, u64),
    /// True or false, by JavaScript's truthiness.
    Flag,
    /// A string: a number's decimal text.
    Text,
    /// Epoch milliseconds.
    Date,
    /// A whole number only `Queue.add` reads, no worker: rewritten as a count up to the given
    /// largest value, and left out (null) when it holds no number, as it changes nothing here.
    AddOnly(u64),
}

use Kind::{AddOnly, Count, Date, Flag, Text};
use Rounding::{Down, Up};

const U32: u64 = u32::MAX as u64;

/// The largest duration or time: bullmq-official turns a backoff delay into an `i64`, and a
/// larger one would wrap around to a negative delay, which retries at once.
pub(super) const MILLIS: u64 = i64::MAX as u64;

/// The options of a single form, by their path in the stored JSON (Node stores some under short
/// names: `kl` is keepLogs, `de` deduplication). Durations round up, so that nothing runs
/// earlier than asked; `attempts` too, as Node retries while `attemptsMade + 1 < attempts`
/// (2.5 allows 3 attempts); the rest round down, as Node's `stacktrace.slice(-limit)` and whole
/// milliseconds and jobs do.
const OPTIONS: &[(&[&str], Kind)] = &[
    (&["attempts"], Count(Up, U32)),
    (&["delay"], Count(Up, MILLIS)),
    (&["priority"], Count(Down, U32)),
    (&["timestamp"], Count(Down, MILLIS)),
    (&["prevMillis"], Count(Down, MILLIS)),
    (&["stackTraceLimit"], Count(Down, U32)),
    (&["kl"], Count(Down, U32)),
    (&["keepLogs"], Count(Down, U32)),
    (&["sizeLimit"], AddOnly(U32)),
    (&["lifo"], Flag),
    (&["failParentOnFailure"], Flag),
    (&["continueParentOnFailure"], Flag),
    (&["ignoreDependencyOnFailure"], Flag),
    (&["removeDependencyOnFailure"], Flag),
    (&["jobId"], Text),
    (&["parent", "id"], Text),
    (&["parent", "queue"], Text),
    (&["parent", "waitChildren"], Flag),
    (&["de", "id"], Text),
    (&["de", "ttl"], Count(Down, MILLIS)),
    (&["de", "extend"], Flag),
    (&["de", "replace"], Flag),
    (&["de", "keepLastIfActive"], Flag),
    (&["repeat", "every"], Count(Up, MILLIS)),
    (&["repeat", "count"], Count(Down, MILLIS)),
    (&["repeat", "offset"], Count(Down, MILLIS)),
    (&["repeat", "limit"], Count(Down, MILLIS)),
    (&["repeat", "startDate"], Date),
    (&["repeat", "endDate"], Date),
    (&["repeat", "pattern"], Text),
    (&["repeat", "tz"], Text),
];

/// Where deduplication's fields may also stand: bullmq-official reads `deduplication` like `de`.
const DEDUPLICATION_ALIAS: &str = "deduplication";

/// Rewrites `options` in place, for a job that has made `attempts_made` attempts; an error is
/// the reason a job fails with, naming the option.
pub(super) fn normalize(
    options: &mut Map<String, Value>,
    attempts_made: u32,
) -> Result<(), String> {
    stack_trace_limit(options);
    for (path, kind) in OPTIONS {
        rewrite_at(options, path, *kind)?;
        if path[0] == "de" {
            rewrite_at(options, &[DEDUPLICATION_ALIAS, path[1]], *kind)?;
        }
    }
    for retention_option in ["removeOnComplete", "removeOnFail"] {
        retention(options, retention_option)?;
    }
    let retry = backoff(options)?;
    longest_wait(options, attempts_made);
    if let Retry::Until(most) = retry {
        // Fewer attempts is what a bullmq-official worker makes of "stop retrying after these".
        if let Some(attempts) = options.get_mut("attempts") {
            if attempts.as_u64().is_some_and(|n| n > most) {
                *attempts = Value::from(most);
            }
        }
    }
    Ok(())
}

fn rewrite_at(options: &mut Map<String, Value>, path: &[&str], kind: Kind) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Ok(());
    };
    let mut object = options;
    for key in parents {
        match object.get_mut(*key).and_then(Value::as_object_mut) {
            Some(inner) => object = inner,
            None => return Ok(()),
        }
    }
    match object.get_mut(*last) {
        Some(value) => rewrite(value, kind).map_err(|why| unreadable(&path.join("."), value, why)),
        None => Ok(()),
    }
}

fn rewrite(value: &mut Value, kind: Kind) -> Result<(), &'static str> {
    if value.is_null() {
        return Ok(());
    }
    *value = match kind {
        Count(rounding, max) => {
            Value::from(javascript::whole_number(value, rounding, max).ok_or("it is not a number")?)
        }
        Flag => Value::Bool(javascript::truthy(value)),
        Text => Value::String(javascript::text(value).ok_or("it is not a string or a number")?),
        AddOnly(max) => javascript::whole_number(value, Down, max).map_or(Value::Null, Value::from),
        Date => Value::from(javascript::date_millis(value, MILLIS).ok_or(
            "it is not a date: epoch milliseconds, an RFC 3339 date and time, or YYYY-MM-DD",
        )?),
    };
    Ok(())
}

/// `stackTraceLimit`: Node keeps the last `limit` entries of the stack trace list
/// (`slice(-limit)`), none for the number 0; any other limit whose whole part is 0 (0.5, "0",
/// -0.5) slices from the start, keeping them all, as no limit does: it is left out (null).
fn stack_trace_limit(options: &mut Map<String, Value>) {
    let Some(limit) = options.get_mut("stackTraceLimit") else {
        return;
    };
    let the_number_zero = limit.is_number() && limit.as_f64() == Some(0.0);
    if !the_number_zero && javascript::number(limit).is_some_and(|n| n.trunc() == 0.0) {
        *limit = Value::Null;
    }
}

/// `removeOnComplete` and `removeOnFail`, as Node's `getKeepJobs` reads them: true or false; a
/// number is how many finished jobs to keep, and a negative one keeps them all (to the scripts,
/// count -1: bullmq-official says so with `false`); any other value is a flag; an object has
/// `age` (seconds), `count` (negative: no limit by count, so left out) and `limit`.
fn retention(options: &mut Map<String, Value>, name: &str) -> Result<(), String> {
    let Some(value) = options.get_mut(name) else {
        return Ok(());
    };
    match value {
        Value::Null | Value::Bool(_) => {}
        Value::Number(_) if javascript::number(value).is_some_and(|n| n < 0.0) => {
            *value = Value::Bool(false);
        }
        Value::Number(_) => rewrite_at(options, &[name], Count(Down, MILLIS))?,
        Value::String(_) => *value = Value::Bool(javascript::truthy(value)),
        Value::Object(keep) => {
            let no_count_limit = keep
                .get("count")
                .and_then(javascript::number)
                .is_some_and(|n| n < 0.0);
            if no_count_limit {
                keep.remove("count");
            }
            for (field, kind) in KEEP_JOBS {
                rewrite_at(options, &[name, field], kind)?;
            }
        }
        Value::Array(_) => {
            return Err(unreadable(
                name,
                value,
                "it is neither true/false, a count nor {age, count, limit}",
            ))
        }
    }
    Ok(())
}

/// The fields of a retention object: `age` is a duration, the others counts.
const KEEP_JOBS: [(&str, Kind); 3] = [
    ("age", Count(Up, MILLIS)),
    ("count", Count(Down, MILLIS)),
    ("limit", Count(Down, MILLIS)),
];

/// Whether a backoff lets a failed attempt be retried.
enum Retry {
    AsAttemptsAllow,
    /// Node stops retrying once the given attempt has failed: its retry delay is -1, which
    /// Node reads as "never retry" (`delay == -1`).
    Until(u64),
}

/// `backoff`: a number is a fixed delay (Node's `Backoffs.normalize`), any other value
/// JavaScript takes for false (`false`, `""`) none; an object has a `type`
/// (a name: one without a strategy here is dealt with when an attempt fails, see
/// [`super::unknown_backoff`]) and a `delay` (left out or null: none). A retry delay of -1
/// stops the retries: a fixed delay of -1, or an exponential one whose retry after attempt n
/// waits `Math.round(2^(n-1) × delay)` ms and so reaches -1 when the delay is negative and above
/// -1.5. Any other negative retry delay retries at once, on Node as here.
fn backoff(options: &mut Map<String, Value>) -> Result<Retry, String> {
    let Some(value) = options.get_mut("backoff") else {
        return Ok(Retry::AsAttemptsAllow);
    };
    if value.is_number() {
        *value = serde_json::json!({ "type": "fixed", "delay": value.clone() });
    } else if !javascript::truthy(value) {
        *value = Value::Null;
    }
    let Value::Object(backoff) = value else {
        return match value {
            Value::Null => Ok(Retry::AsAttemptsAllow),
            other => Err(unreadable(
                "backoff",
                other,
                "it is neither a number nor {type, delay}",
            )),
        };
    };
    let kind = backoff.get("type").cloned().unwrap_or(Value::Null);
    if !kind.is_string() {
        return Err(unreadable(
            "backoff.type",
            &kind,
            "a backoff's type is a name, such as \"fixed\" or \"exponential\"",
        ));
    }
    let retry = match backoff.get_mut("delay") {
        Some(delay) if delay.is_null() => {
            // bullmq-official reads a left-out delay as 0, not a null one; to Node both are none.
            *delay = Value::from(0);
            Retry::AsAttemptsAllow
        }
        Some(delay) => match (kind.as_str(), javascript::number(delay)) {
            (Some("fixed"), Some(-1.0)) => Retry::Until(1),
            (Some("exponential"), Some(delay)) => exponential_stop(delay),
            _ => Retry::AsAttemptsAllow,
        },
        None => Retry::AsAttemptsAllow,
    };
    rewrite_at(options, &["backoff", "delay"], Count(Up, MILLIS))?;
    let backoff = options.get_mut("backoff").and_then(Value::as_object_mut);
    if let Some(backoff) = backoff {
        let zero = backoff
            .get("delay")
            .is_none_or(|delay| delay == &Value::from(0));
        if backoff.get("type") == Some(&Value::from("exponential")) && zero {
            backoff.insert("type".into(), Value::from("fixed"));
        }
    }
    Ok(retry)
}

/// The wait of an exponential backoff of `delay` ms after attempt n = `attempts_made` + 1,
/// `2^(n-1) × delay` as Node and bullmq-official count it; `None` past the largest wait,
/// [`MILLIS`], where bullmq-official's count overflows.
pub(super) fn exponential_wait(delay: u64, attempts_made: u32) -> Option<u64> {
    2u64.checked_pow(attempts_made)
        .and_then(|factor| delay.checked_mul(factor))
        .filter(|wait| *wait <= MILLIS)
}

/// An exponential backoff (its delay a whole number by now) whose next wait is past the
/// largest becomes a fixed backoff of the largest wait: every later wait is longer still, as
/// the attempts made only add up, so each retry waits the largest wait, where bullmq-official
/// would overflow (see the module docs).
fn longest_wait(options: &mut Map<String, Value>, attempts_made: u32) {
    let Some(backoff) = options.get_mut("backoff").and_then(Value::as_object_mut) else {
        return;
    };
    let delay = backoff.get("delay").and_then(Value::as_u64);
    let exponential = backoff.get("type") == Some(&Value::from("exponential"));
    if exponential && delay.is_some_and(|delay| exponential_wait(delay, attempts_made).is_none()) {
        backoff.insert("type".into(), Value::from("fixed"));
        backoff.insert("delay".into(), Value::from(MILLIS));
    }
}

/// The first attempt after which an exponential backoff of `delay` waits -1 ms.
fn exponential_stop(delay: f64) -> Retry {
    let mut wait = delay;
    let mut attempt = 1;
    // Doubling a negative wait ends below -1.5 (never -1 again) or, from above -1.5, within
    // [-1.5, -0.5), which rounds to -1: at most about 1,075 doublings from the smallest number.
    while (-1.5..0.0).contains(&wait) {
        if javascript::round(wait) == -1.0 {
            return Retry::Until(attempt);
        }
        wait *= 2.0;
        attempt += 1;
    }
    Retry::AsAttemptsAllow
}

/// The reason a job fails with when its option at `path` cannot be understood.
pub(super) fn unreadable(path: &str, value: &Value, why: &str) -> String {
    format!("job option `{path}` ({value}) cannot be understood: {why}")
}
