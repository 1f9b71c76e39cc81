//! The locks this worker's jobs hold, for the lock renewal thread to extend. A job's lock is
//! renewed from the moment its processor starts until its completion has reached Redis, which
//! happens on the queue thread after the processor returns: a handler that blocks that thread
//! in between holds the completion back, and the lock must outlive the wait.
//!
//! When has the completion reached Redis? bullmq-official says so: it sends the job's
//! `Completed` or `Failed` event once Redis has answered its `moveToFinished` (or the retry), and
//! the event drain (`queue_worker.rs`, on the queue thread) then calls
//! [`ActiveLocks::completion_sent`]. A job whose lock is gone is forgotten by the renewal thread
//! on its own. What is left, a completion that failed with no event naming the job, is released
//! by [`ActiveLocks::release_unconfirmed`] after [`UNCONFIRMED_WAIT`]: its lock then expires and
//! a stalled check takes the job back.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// How long a finished job with no confirmed completion stays renewed: twice the 10 s response
/// timeout of bullmq-official's connection, so that a completion still being written or
/// answered has surely ended, one way or the other, by then.
const UNCONFIRMED_WAIT: Duration = Duration::from_secs(20);

/// A job's lock: its id and the token it was taken with. The id alone is not enough: a job that
/// stalled here can be fetched here again, under a new token, while its first run goes on.
type Lock = (String, String);

/// Shared by the queue thread, which adds and finishes jobs, and the lock renewal thread, which
/// reads them.
#[derive(Clone, Default)]
pub(crate) struct ActiveLocks {
    registry: Arc<Mutex<Registry>>,
    /// Signalled when a job finishes: a release of unconfirmed jobs is due.
    job_finished: Arc<Notify>,
}

#[derive(Default)]
struct Registry {
    /// Jobs whose processor is running.
    running: HashSet<Lock>,
    /// Jobs whose processor returned and whose completion is not confirmed yet, by id: the
    /// token of each run and when it finished.
    finished: HashMap<String, Vec<(String, Instant)>>,
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
        let mut registry = self.locked();
        if let Some(runs) = registry.finished.get_mut(job_id) {
            runs.retain(|(run_token, _)| run_token != token);
            if runs.is_empty() {
                registry.finished.remove(job_id);
            }
        }
    }

    /// bullmq-official reported `job_id` completed or failed: Redis has answered the call that
    /// moved it, so its finished runs need no lock any more. A run still in its processor (the
    /// job fetched again under a new token) keeps its own.
    pub(crate) fn completion_sent(&self, job_id: &str) {
        self.locked().finished.remove(job_id);
    }

    /// The locks to renew now, as (job id, token).
    pub(crate) fn snapshot(&self) -> Vec<Lock> {
        let registry = self.locked();
        let finished = registry.finished.iter().flat_map(|(id, runs)| {
            runs.iter()
                .map(move |(token, _)| (id.clone(), token.clone()))
        });
        registry.running.iter().cloned().chain(finished).collect()
    }

    /// Releases finished jobs whose completion was never confirmed, [`UNCONFIRMED_WAIT`] after
    /// they finished (see the module docs). Runs on the queue thread for as long as the worker
    /// does, so a handler blocking that thread holds the release back too; waits without a timer
    /// while no job is unconfirmed.
    pub(crate) async fn release_unconfirmed(self) {
        loop {
            self.job_finished.notified().await;
            loop {
                tokio::time::sleep(UNCONFIRMED_WAIT).await;
                let now = Instant::now();
                let mut registry = self.locked();
                registry.finished.retain(|_, runs| {
                    runs.retain(|(_, finished_at)| now - *finished_at < UNCONFIRMED_WAIT);
                    !runs.is_empty()
                });
                if registry.finished.is_empty() {
                    break;
                }
            }
        }
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
        let (job_id, token) = std::mem::take(&mut self.lock);
        {
            let mut registry = self.locks.locked();
            registry.running.remove(&(job_id.clone(), token.clone()));
            registry
                .finished
                .entry(job_id)
                .or_default()
                .push((token, Instant::now()));
        }
        self.locks.job_finished.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(locks: &ActiveLocks) -> Vec<String> {
        let mut ids: Vec<String> = locks.snapshot().into_iter().map(|(id, _)| id).collect();
        ids.sort();
        ids
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_finished_job_is_renewed_until_its_completion_is_confirmed() {
        let locks = ActiveLocks::default();
        tokio::spawn(locks.clone().release_unconfirmed());
        drop(locks.hold("1", "token-1"));
        // Its completion is still being written (a large result, a Redis slow to read it).
        tokio::time::sleep(UNCONFIRMED_WAIT / 2).await;
        assert_eq!(
            ids(&locks),
            ["1"],
            "released before its completion reached Redis"
        );
        locks.completion_sent("1");
        assert!(ids(&locks).is_empty(), "still renewed: {:?}", ids(&locks));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_finished_job_whose_completion_is_never_confirmed_is_released_after_the_wait() {
        let locks = ActiveLocks::default();
        tokio::spawn(locks.clone().release_unconfirmed());
        drop(locks.hold("1", "token-1"));
        tokio::time::sleep(UNCONFIRMED_WAIT / 2).await;
        drop(locks.hold("2", "token-2"));
        tokio::time::sleep(UNCONFIRMED_WAIT / 2 + Duration::from_millis(1)).await;
        assert_eq!(
            ids(&locks),
            ["2"],
            "job 1 is still renewed, or job 2 was released early"
        );
        tokio::time::sleep(UNCONFIRMED_WAIT).await;
        assert!(ids(&locks).is_empty(), "still renewed: {:?}", ids(&locks));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_confirmation_leaves_running_jobs_and_a_new_run_of_the_same_job_alone() {
        let locks = ActiveLocks::default();
        tokio::spawn(locks.clone().release_unconfirmed());
        let _running = locks.hold("1", "token-1");
        drop(locks.hold("2", "token-2"));
        // Job 2 fetched again (it stalled here) under a new token while the first run finishes.
        let _second_run = locks.hold("2", "token-3");
        locks.completion_sent("2");
        tokio::time::sleep(UNCONFIRMED_WAIT * 3).await;
        assert_eq!(ids(&locks), ["1", "2"]);
        assert!(locks.running("2", "token-3"));
        assert!(!locks.running("2", "token-2"));
    }
}
