//! A job that waited long between its fetch and its start. Its lock was taken in Redis when it
//! was fetched, but this worker registers it for renewal only when its processing starts, on the
//! queue thread: a handler blocking that thread holds back the jobs fetched in the meantime, and
//! their locks may expire (and a stalled check give them to another worker) before they start.

use std::time::Duration;

/// A job that started sooner than this after its fetch has its lock renewed in time: the lock
/// renewal thread's next pass comes at most `lock_duration / 2` later.
const fn safe_wait(lock_duration: Duration) -> Duration {
    Duration::from_millis(lock_duration.as_millis() as u64 / 4)
}

/// Whether `job` may start: it was fetched recently enough, or its lock, extended now, is still
/// this worker's. A job for which this is false must not run here; handing it back is then a
/// no-op in Redis (the scripts check the lock) and the stalled check recovers it if no one has.
pub(crate) async fn lock_still_ours(
    job: &bullmq::Job,
    token: &str,
    lock_duration: Duration,
) -> bool {
    let now_ms = super::epoch_millis();
    // `processedOn` is the fetch time this worker sent to the fetch script.
    let fetched_ms = job.processed_on().unwrap_or(now_ms);
    let waited = Duration::from_millis(now_ms.saturating_sub(fetched_ms));
    if waited < safe_wait(lock_duration) {
        return true;
    }
    job.extend_lock(token, lock_duration.as_millis() as u64)
        .await
        .is_ok()
}
