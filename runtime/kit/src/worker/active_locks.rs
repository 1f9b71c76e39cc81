//! The locks this worker's jobs hold, for the lock renewal thread to extend. A job's lock is
//! renewed from the moment its processor starts until its completion has surely been sent to
//! Redis, which happens on the queue thread after the processor returns: a handler that blocks
//! that thread in between holds the completion back, and the lock must outlive the wait.
//!
//! When has the completion surely been sent? The event drain (`queue_worker.rs`) answers it. It
//! runs on the queue thread too, in batches: a batch begins when an event arrives and ends after
//! a timer. Entries finished when a batch begins are released when it ends: the connection's
//! task that writes their completions was woken before the batch's timer was set, and the
//! single-threaded runtime runs woken tasks in order, so it has run by then.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// A job's lock: its id and the token it was taken with. The id alone is not enough: a job that
/// stalled here can be fetched here again, under a new token, while its first run goes on.
type Lock = (String, String);

/// Shared by the queue thread, which adds and finishes jobs, and the lock renewal thread, which
/// reads them.
#[derive(Clone, Default)]
pub(crate) struct ActiveLocks {
    registry: Arc<Mutex<Registry>>,
}

#[derive(Default)]
struct Registry {
    /// Jobs whose processor is running.
    running: HashSet<Lock>,
    /// Jobs whose processor returned since the current drain batch began.
    finished: HashSet<Lock>,
    /// Jobs whose processor had returned when the current drain batch began.
    finished_before_batch: HashSet<Lock>,
}

impl ActiveLocks {
    /// Records that `job_id`'s lock, taken with `token`, is held while the returned value lives
    /// and, once it is dropped, until the completion has been sent.
    pub(crate) fn hold(&self, job_id: &str, token: &str) -> HeldLock {
        let lock = (job_id.to_string(), token.to_string());
        self.locked().running.insert(lock.clone());
        HeldLock {
            locks: self.clone(),
            lock,
        }
    }

    /// Whether the processor of `job_id` under `token` is still running.
    pub(crate) fn running(&self, job_id: &str, token: &str) -> bool {
        let lock = (job_id.to_string(), token.to_string());
        self.locked().running.contains(&lock)
    }

    /// Forgets a finished job whose lock is gone (its completion reached Redis).
    pub(crate) fn forget_finished(&self, job_id: &str, token: &str) {
        let lock = (job_id.to_string(), token.to_string());
        let mut registry = self.locked();
        registry.finished.remove(&lock);
        registry.finished_before_batch.remove(&lock);
    }

    /// The locks to renew now, as (job id, token).
    pub(crate) fn snapshot(&self) -> Vec<Lock> {
        let registry = self.locked();
        registry
            .running
            .iter()
            .chain(&registry.finished)
            .chain(&registry.finished_before_batch)
            .cloned()
            .collect()
    }

    /// A drain batch begins: the jobs finished so far are released when it ends.
    pub(crate) fn batch_begins(&self) {
        let mut registry = self.locked();
        let finished = std::mem::take(&mut registry.finished);
        registry.finished_before_batch.extend(finished);
    }

    /// A drain batch ended: the completions of the jobs finished when it began have been sent.
    pub(crate) fn batch_ends(&self) {
        self.locked().finished_before_batch.clear();
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, Registry> {
        // The sets stay consistent whatever panicked while holding them: single inserts and
        // removes.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One job's lock while its processor runs.
pub(crate) struct HeldLock {
    locks: ActiveLocks,
    lock: Lock,
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let lock = std::mem::take(&mut self.lock);
        let mut registry = self.locks.locked();
        registry.running.remove(&lock);
        registry.finished.insert(lock);
    }
}
