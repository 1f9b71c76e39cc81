//! Custom job ids that belong to the queue itself: those naming one of its keys, and those of a
//! job scheduler's iterations.
//!
//! A job's hash lives at `<prefix>:<queue>:<job id>`, beside the queue's lists and sets. BullMQ's
//! add scripts write the hash before they push the job, and Redis keeps what a failing script
//! wrote: a job added with the id `wait` or `marker` leaves a hash there and every later add
//! fails (WRONGTYPE); `active` stops every fetch, `completed` and `failed` every finish of their
//! kind, `stalled` every stalled check. Node's `Queue.add` accepts these ids; a producer whose
//! callers choose ids (an idempotency key) would let one caller stop the queue for everyone.
//!
//! Likewise an id beginning with `de:`, where the queue keeps its deduplication ids' keys.
//!
//! A job scheduler's iterations have the ids `repeat:<scheduler id>:<time in ms>`, and a cron
//! scheduler's times are known in advance. A job added first under a coming iteration's id takes
//! its place: creating the scheduler then fails ("job ID already exists"), and the job runs at
//! the scheduled time with the data its adder chose. Node's `Queue.add` accepts these ids too
//! (three `:`-separated parts, once the ids of legacy repeatable jobs, which bullmq 6 removed).

use super::error::WorkerError;

/// The names Node's `QueueKeys.getKeys` gives the queue's own keys under `<prefix>:<queue>:`
/// (`de` is the stem of the deduplication keys, `de:<id>`).
const QUEUE_KEYS: [&str; 18] = [
    "active",
    "wait",
    "waiting-children",
    "paused",
    "id",
    "delayed",
    "prioritized",
    "stalled-check",
    "completed",
    "failed",
    "stalled",
    "repeat",
    "limiter",
    "meta",
    "events",
    "pc",
    "marker",
    "de",
];

/// How the ids of a job scheduler's iterations begin (BullMQ's `updateJobScheduler` and
/// `next_iteration.lua` name them so).
const ITERATION_ID_PREFIX: &str = "repeat:";

/// How the keys of deduplication ids begin under `<prefix>:<queue>:` (`de:<deduplication id>`, a
/// string holding the id of the job it keeps out). A job `de:a:b` (three parts, which Node
/// accepts) would keep its hash at deduplication id `a:b`'s key: adds with that deduplication id
/// then fail (WRONGTYPE), or, the key there first, the job is taken for one already added.
const DEDUPLICATION_KEY_PREFIX: &str = "de:";

/// Refuses a custom job id that belongs to the queue itself, reported as bullmq-official reports
/// the checks of a job id it does make.
pub(crate) fn check(job_id: Option<&str>) -> Result<(), WorkerError> {
    let refused = |why: &str| {
        Err(WorkerError::Queue(bullmq::Error::InvalidConfig(format!(
            "Custom Id cannot be {:?}: {why}",
            job_id.unwrap_or_default()
        ))))
    };
    match job_id {
        Some(id) if QUEUE_KEYS.contains(&id) => refused("it names one of the queue's own keys"),
        Some(id) if id.starts_with(ITERATION_ID_PREFIX) => {
            refused("ids beginning with \"repeat:\" are a job scheduler's")
        }
        Some(id) if id.starts_with(DEDUPLICATION_KEY_PREFIX) => {
            refused("ids beginning with \"de:\" name the queue's deduplication keys")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn an_id_at_a_deduplication_key_is_refused() {
        // Deduplication id `a:b` is kept at `<prefix>:<queue>:de:a:b`, where a job with the id
        // `de:a:b` (three parts, which Node accepts) would keep its hash.
        let refused = check(Some("de:a:b")).expect_err("de:a:b taken as a job id");
        assert!(refused.to_string().contains("\"de:a:b\""), "{refused}");
        for ordinary in ["de", "dear", "made:a:b"] {
            assert_eq!(
                check(Some(ordinary)).is_ok(),
                ordinary != "de",
                "{ordinary}"
            );
        }
    }
}
