//! The locks this worker's running jobs hold, for the lock renewal thread to extend.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Job id → the token its lock was taken with. Shared by the queue thread, which adds a job for
/// as long as it processes it, and the lock renewal thread, which reads it.
#[derive(Clone, Default)]
pub(crate) struct ActiveLocks {
    by_job: Arc<Mutex<HashMap<String, String>>>,
}

impl ActiveLocks {
    /// Records that `job_id`'s lock, taken with `token`, is held until the returned value drops.
    pub(crate) fn hold(&self, job_id: &str, token: &str) -> HeldLock {
        self.locked().insert(job_id.to_string(), token.to_string());
        HeldLock {
            locks: self.clone(),
            job_id: job_id.to_string(),
        }
    }

    /// Whether `job_id`'s lock taken with `token` is still held.
    pub(crate) fn holds(&self, job_id: &str, token: &str) -> bool {
        self.locked().get(job_id).is_some_and(|held| held == token)
    }

    /// The locks held now, as (job id, token).
    pub(crate) fn snapshot(&self) -> Vec<(String, String)> {
        self.locked()
            .iter()
            .map(|(job_id, token)| (job_id.clone(), token.clone()))
            .collect()
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // The map stays consistent whatever panicked while holding it: one insert or remove.
        self.by_job.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One job's lock, renewed while this lives.
pub(crate) struct HeldLock {
    locks: ActiveLocks,
    job_id: String,
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        self.locks.locked().remove(&self.job_id);
    }
}
