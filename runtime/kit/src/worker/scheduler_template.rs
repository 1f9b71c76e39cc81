//! The options of a job scheduler's iterations. Node's worker gives each next iteration all the
//! options of the scheduler's template, the time it was made (`timestamp`) and, for a cron
//! scheduler, its own time (`prevMillis`); bullmq-official gives it only `repeat`, `attempts`,
//! `backoff`, `priority` and the retention options. Before such a job runs, this puts back what
//! it lacks (`kl`, keepLogs: without it the job's log grows without limit; `stackTraceLimit`;
//! `lifo`…), read from the scheduler's hash, where Node's `Queue` stores the template's options
//! as its own jobs store theirs.

use redis::aio::ConnectionManager;
use serde_json::{Map, Value};

use super::node_options::{self, Then};

/// The job's options once they have all that Node's worker gives an iteration, and whether
/// they were written back (something was missing, and the job's lock is still ours); `None`
/// for a job without a scheduler hash (a legacy repeatable job, a removed scheduler) or whose
/// options are not a JSON object (the options check deals with those).
pub(crate) async fn restore(
    conn: &mut ConnectionManager,
    job_id: &str,
    job_key: &str,
    token: &str,
    scheduler_key: &str,
) -> redis::RedisResult<Option<Restored>> {
    type Fields = (
        Option<String>,
        Option<u64>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let (job_options, timestamp, scheduler_name, template, pattern): Fields = redis::pipe()
        .hget(job_key, "opts")
        .hget(job_key, "timestamp")
        .hget(scheduler_key, "name")
        .hget(scheduler_key, "opts")
        .hget(scheduler_key, "pattern")
        .query_async(conn)
        .await?;
    if scheduler_name.is_none() {
        return Ok(None);
    }
    let iteration = Iteration {
        template: template.as_deref(),
        timestamp,
        // The id of an iteration is `repeat:<scheduler id>:<its time>`.
        cron_time: pattern
            .and_then(|_| job_id.rsplit(':').next())
            .and_then(|millis| millis.parse().ok()),
    };
    let Some((options, added)) = completed(job_options.as_deref(), &iteration) else {
        return Ok(None);
    };
    let written = added && {
        let json = Value::Object(options.clone()).to_string();
        node_options::write(conn, job_key, token, &json, Then::Run).await?
    };
    Ok(Some(Restored { options, written }))
}

pub(crate) struct Restored {
    pub options: Map<String, Value>,
    pub written: bool,
}

/// What Node's worker puts into an iteration's options besides `repeat` and the rest.
struct Iteration<'a> {
    /// The scheduler's template options (JSON), if it has any.
    template: Option<&'a str>,
    /// When the iteration was made.
    timestamp: Option<u64>,
    /// A cron scheduler's iteration: its time.
    cron_time: Option<u64>,
}

/// The job's options with what they lack of `iteration`, and whether they lacked anything;
/// `None` when they are not a JSON object.
fn completed(
    job_options: Option<&str>,
    iteration: &Iteration,
) -> Option<(Map<String, Value>, bool)> {
    let object = |json: &str| match serde_json::from_str(json) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    };
    let mut options = object(job_options.unwrap_or("{}"))?;
    let template = iteration.template.and_then(object).unwrap_or_default();
    let own = [
        ("timestamp", iteration.timestamp),
        ("prevMillis", iteration.cron_time),
    ];
    let own = own
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), Value::from(value?))));
    let mut added = false;
    for (name, value) in template.into_iter().chain(own) {
        if !options.contains_key(&name) {
            options.insert(name, value);
            added = true;
        }
    }
    Some((options, added))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn iteration(template: Option<&str>, cron_time: Option<u64>) -> Iteration<'_> {
        Iteration {
            template,
            timestamp: Some(1_700_000_000_000),
            cron_time,
        }
    }

    #[test]
    fn what_node_gives_an_iteration_fills_in_what_it_lacks_and_nothing_else() {
        let options = completed(
            Some(r#"{"attempts":3,"repeat":{"every":300,"count":2},"priority":0}"#),
            &iteration(
                Some(r#"{"attempts":5,"kl":2,"stackTraceLimit":1,"lifo":true}"#),
                None,
            ),
        );
        assert_eq!(
            options.map(|(options, added)| (Value::Object(options), added)),
            Some((
                json!({"attempts":3,"repeat":{"every":300,"count":2},"priority":0,"kl":2,"stackTraceLimit":1,"lifo":true,"timestamp":1_700_000_000_000_u64}),
                true
            ))
        );
        let cron = completed(
            Some(r#"{"attempts":0}"#),
            &iteration(None, Some(1_700_000_002_000)),
        );
        assert_eq!(
            cron.map(|(options, added)| (Value::Object(options), added)),
            Some((
                json!({"attempts":0,"timestamp":1_700_000_000_000_u64,"prevMillis":1_700_000_002_000_u64}),
                true
            ))
        );
    }

    #[test]
    fn nothing_changes_when_the_iteration_has_it_all_or_is_not_an_object() {
        let full = r#"{"attempts":3,"kl":2,"timestamp":1}"#;
        let unchanged = || {
            let Value::Object(options) = serde_json::from_str(full).unwrap() else {
                unreachable!()
            };
            Some((options, false))
        };
        assert_eq!(completed(Some(full), &iteration(None, None)), unchanged());
        assert_eq!(
            completed(Some(full), &iteration(Some(r#"{"kl":5}"#), None)),
            unchanged()
        );
        assert_eq!(
            completed(Some(full), &iteration(Some("not json"), None)),
            unchanged()
        );
        assert_eq!(
            completed(Some("[1]"), &iteration(Some(r#"{"kl":5}"#), None)),
            None
        );
    }
}
