//! Custom job ids that would take the place of one of the queue's own keys.
//!
//! A job's hash lives at `<prefix>:<queue>:<job id>`, beside the queue's lists and sets. BullMQ's
//! add scripts write the hash before they push the job, and Redis keeps what a failing script
//! wrote: a job added with the id `wait` or `marker` leaves a hash there and every later add
//! fails (WRONGTYPE); `active` stops every fetch, `completed` and `failed` every finish of their
//! kind, `stalled` every stalled check. Node's `Queue.add` accepts these ids; a producer whose
//! callers choose ids (an idempotency key) would let one caller stop the queue for everyone.

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

/// Refuses a custom job id that names one of the queue's own keys, reported as bullmq-official
/// reports the checks of a job id it does make.
pub(crate) fn check(job_id: Option<&str>) -> Result<(), WorkerError> {
    match job_id {
        Some(id) if QUEUE_KEYS.contains(&id) => {
            Err(WorkerError::Queue(bullmq::Error::InvalidConfig(format!(
                "Custom Id cannot be {id:?}: it names one of the queue's own keys"
            ))))
        }
        _ => Ok(()),
    }
}
