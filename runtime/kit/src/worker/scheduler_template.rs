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

/// The job's options, once they have all that Node's worker gives an iteration: `Some` with the
/// options written back when something was missing, `None` when nothing changed (a first
/// iteration, made by Node's `Queue`; a legacy repeatable job, which has no scheduler hash; a
/// job whose lock is no longer ours).
pub(crate) async fn restore(
    conn: &mut ConnectionManager,
    job_id: &str,
    job_key: &str,
    token: &str,
    scheduler_key: &str,
) -> redis::RedisResult<Option<Map<String, Value>>> {
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
    let Some(options) = completed(job_options.as_deref(), &iteration) else {
        return Ok(None);
    };
    let written = Value::Object(options.clone()).to_string();
    let ours = node_options::write(conn, job_key, token, &written, Then::Run).await?;
    Ok(ours.then_some(options))
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

/// The job's options with what they lack of `iteration`; `None` when they lack nothing, or are
/// not a JSON object (the options check deals with those).
fn completed(job_options: Option<&str>, iteration: &Iteration) -> Option<Map<String, Value>> {
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
    added.then_some(options)
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
            options.map(Value::Object),
            Some(
                json!({"attempts":3,"repeat":{"every":300,"count":2},"priority":0,"kl":2,"stackTraceLimit":1,"lifo":true,"timestamp":1_700_000_000_000_u64})
            )
        );
        let cron = completed(
            Some(r#"{"attempts":0}"#),
            &iteration(None, Some(1_700_000_002_000)),
        );
        assert_eq!(
            cron.map(Value::Object),
            Some(
                json!({"attempts":0,"timestamp":1_700_000_000_000_u64,"prevMillis":1_700_000_002_000_u64})
            )
        );
    }

    #[test]
    fn nothing_changes_when_the_iteration_has_it_all_or_is_not_an_object() {
        let full = r#"{"attempts":3,"kl":2,"timestamp":1}"#;
        assert_eq!(completed(Some(full), &iteration(None, None)), None);
        assert_eq!(
            completed(Some(full), &iteration(Some(r#"{"kl":5}"#), None)),
            None
        );
        assert_eq!(
            completed(Some(full), &iteration(Some("not json"), None)),
            None
        );
        assert_eq!(
            completed(Some("[1]"), &iteration(Some(r#"{"kl":5}"#), None)),
            None
        );
    }
}
