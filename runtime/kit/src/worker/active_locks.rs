//! The locks this worker's jobs hold, for the lock renewal thread to extend. A job's lock is
//! renewed from the moment its processor starts until Redis has run its completion, which the
//! queue thread sends after the processor returns: a handler that blocks that thread in between
//! holds the completion back (all of it, or the rest of a large one still being written), and
//! the lock must outlive the wait.
//!
//! When has Redis run the completion? [`ActiveLocks::release_sent`], a task on the queue thread,
//! answers it in sweeps: a sweep begins when a job finishes and takes every job finished by
//! then. It waits [`SWEEP_DELAY`], by when the completions of those jobs have been queued on
//! the queue's connection: the single-threaded runtime runs woken tasks in the order they were
//! woken, and the sweep yields once more after its timer, behind the tasks tokio deferred (a
//! task that used up its budget waits for the runtime's next turn of its driver, after the
//! timers). It then sends a [`Fence`] on that connection and releases the jobs once Redis has
//! answered it: Redis answers a connection's commands in the order they were sent, so it has
//! run those completions. A completion the client itself sends again later (a script loaded
//! again after `NOSCRIPT`, a reconnect) goes out moments after the release, well within the
//! lock. A completion that fails is not retried: its lock then expires and a stalled check
//! takes the job back.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

/// How long a sweep leaves the queue thread to queue the completions of the jobs it took.
const SWEEP_DELAY: Duration = Duration::from_millis(50);

/// Sends a command on the connection that carries the completions and returns once Redis has
/// answered it, or the connection gave up on the answer (it failed, or its response timeout
/// passed: then the completions sent before it fare no better).
pub(crate) type Fence = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A job's lock: its id and the token it was taken with. The id alone is not enough: a job that
/// stalled here can be fetched here again, under a new token, while its first run goes on.
type Lock = (String, String);

/// Shared by the queue thread, which adds and finishes jobs, and the lock renewal thread, which
/// reads them.
#[derive(Clone, Default)]
pub(crate) struct ActiveLocks {
    registry: Arc<Mutex<Registry>>,
    /// Signalled when a job finishes: a sweep is due.
    job_finished: Arc<Notify>,
    /// Set with the first job, whose connection is the one every completion goes on.
    fence: Arc<OnceLock<Fence>>,
}

#[derive(Default)]
struct Registry {
    /// Jobs whose processor is running.
    running: HashSet<Lock>,
    /// Jobs whose processor returned since the current sweep began.
    finished: HashSet<Lock>,
    /// Jobs whose processor had returned when the current sweep began.
    swept: HashSet<Lock>,
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

    /// Sets the sweeps' [`Fence`] if it is not set yet (`fence` is called at most once).
    pub(crate) fn fence_once(&self, fence: impl FnOnce() -> Fence) {
        self.fence.get_or_init(fence);
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
        registry.swept.remove(&lock);
    }

    /// The locks to renew now, as (job id, token).
    pub(crate) fn snapshot(&self) -> Vec<Lock> {
        let registry = self.locked();
        registry
            .running
            .iter()
            .chain(&registry.finished)
            .chain(&registry.swept)
            .cloned()
            .collect()
    }

    /// Releases finished jobs once Redis has run their completions (see the module docs). Runs
    /// on the queue thread for as long as the worker does; waits without a timer while no job
    /// finishes.
    pub(crate) async fn release_sent(self) {
        loop {
            self.job_finished.notified().await;
            {
                let mut registry = self.locked();
                let finished = std::mem::take(&mut registry.finished);
                registry.swept.extend(finished);
            }
            tokio::time::sleep(SWEEP_DELAY).await;
            tokio::task::yield_now().await;
            if let Some(fence) = self.fence.get() {
                fence().await;
            }
            self.locked().swept.clear();
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
        let lock = std::mem::take(&mut self.lock);
        {
            let mut registry = self.locks.locked();
            registry.running.remove(&lock);
            registry.finished.insert(lock);
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

    #[tokio::test(flavor = "current_thread")]
    async fn a_finished_job_is_renewed_until_a_sweep_then_released_without_any_other_event() {
        let locks = ActiveLocks::default();
        tokio::spawn(locks.clone().release_sent());
        drop(locks.hold("1", "token-1"));
        assert_eq!(
            ids(&locks),
            ["1"],
            "released before its completion went out"
        );
        tokio::time::sleep(SWEEP_DELAY * 3).await;
        assert!(ids(&locks).is_empty(), "still renewed: {:?}", ids(&locks));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_finished_job_is_renewed_until_redis_has_answered_the_fence_sent_after_it() {
        let locks = ActiveLocks::default();
        let answered = Arc::new(Notify::new());
        locks.fence_once(|| {
            let answered = answered.clone();
            Arc::new(move || {
                let answered = answered.clone();
                Box::pin(async move { answered.notified().await })
            })
        });
        tokio::spawn(locks.clone().release_sent());
        drop(locks.hold("1", "token-1"));
        tokio::time::sleep(SWEEP_DELAY * 3).await;
        assert_eq!(ids(&locks), ["1"], "released before the fence was answered");
        answered.notify_one();
        tokio::time::sleep(SWEEP_DELAY).await;
        assert!(ids(&locks).is_empty(), "still renewed: {:?}", ids(&locks));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn sweeps_leave_running_jobs_and_a_new_run_of_a_finished_job_alone() {
        let locks = ActiveLocks::default();
        tokio::spawn(locks.clone().release_sent());
        let _running = locks.hold("1", "token-1");
        drop(locks.hold("2", "token-2"));
        // Job 2 fetched again (it stalled here) under a new token while the first run finishes.
        let _second_run = locks.hold("2", "token-3");
        tokio::time::sleep(SWEEP_DELAY * 3).await;
        assert_eq!(ids(&locks), ["1", "2"]);
        assert!(locks.running("2", "token-3"));
        assert!(!locks.running("2", "token-2"));
    }
}
