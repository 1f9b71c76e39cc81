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
//! timers). The one exception is a connection being made again: the completions and the
//! sweep's first fence wait for it together and are queued in the same turn, in no set order.
//! The sweep then sends fences on that connection, each once the one before is answered, and
//! releases the jobs after [`FENCES`] answers. Redis answers a connection's commands in the
//! order they were sent, so once a fence is answered Redis has run everything queued before it,
//! and each sending of a completion is queued before some fence is answered, so before the next
//! one is sent: the first sending before the first fence is answered, and a second one (the
//! same completion whole again, when Redis no longer holds its script: `NOSCRIPT`, after a
//! restart or a `SCRIPT FLUSH`) when the first one's answer arrives, which comes before the
//! answer to any fence sent after the first sending (the task it wakes runs first). The third
//! fence follows both.
//!
//! A fence not answered within [`RESPONSE_TIMEOUT`] while this thread ran means that Redis, or
//! the connection, failed or is being made again: the jobs are released, as a stalled check
//! would take them back once their locks expire, whether their completions land later or never.
//! A wait that ends long after that, on a thread that was blocked meanwhile (maybe with a
//! completion half written), starts again. A block that ends within [`LATE_WAKE`] of the
//! wait's end is not seen, and a completion the client itself gave up on after its own
//! response timeout (a thread blocked longer than that) is not sent again: at least once, as
//! the worker's docs say.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::redis_conn::RESPONSE_TIMEOUT;

/// How long a sweep leaves the queue thread to queue the completions of the jobs it took.
const SWEEP_DELAY: Duration = Duration::from_millis(50);

/// Sends a command on the connection that carries the completions; true once Redis has
/// answered it, false if the connection gave up on the answer.
pub(crate) type Fence = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// How many fences answered in a row release a sweep's jobs (see the module docs).
const FENCES: usize = 3;

/// How much later than [`RESPONSE_TIMEOUT`] a fence's wait may end and still have ended on a
/// thread that ran (a loaded machine wakes timers late).
const LATE_WAKE: Duration = Duration::from_secs(1);

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
                completions_run(fence).await;
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

/// Returns once Redis has run the completions queued on the queue's connection before the call,
/// or that connection failed (see the module docs).
async fn completions_run(fence: &Fence) {
    let mut answered_in_a_row = 0;
    while answered_in_a_row < FENCES {
        let sent = Instant::now();
        if let Ok(true) = tokio::time::timeout(RESPONSE_TIMEOUT, fence()).await {
            answered_in_a_row += 1;
        } else if sent.elapsed() < RESPONSE_TIMEOUT + LATE_WAKE {
            return;
        } else {
            answered_in_a_row = 0;
        }
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
    use std::sync::atomic::{AtomicUsize, Ordering};

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

    /// A fence that counts its calls in `calls` and answers a call (numbered from 1) with what
    /// `answer` makes of it.
    fn fence<F>(calls: Arc<AtomicUsize>, answer: fn(usize) -> F) -> Fence
    where
        F: Future<Output = bool> + Send + 'static,
    {
        Arc::new(move || Box::pin(answer(calls.fetch_add(1, Ordering::SeqCst) + 1)))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_finished_job_is_renewed_until_redis_has_answered_every_fence_sent_after_it() {
        let locks = ActiveLocks::default();
        let answers = Arc::new(tokio::sync::Semaphore::new(0));
        let fence_calls = Arc::new(AtomicUsize::new(0));
        locks.fence_once(|| {
            let answers = answers.clone();
            let fence_calls = fence_calls.clone();
            Arc::new(move || {
                fence_calls.fetch_add(1, Ordering::SeqCst);
                let answers = answers.clone();
                Box::pin(async move {
                    answers.acquire().await.unwrap().forget();
                    true
                })
            })
        });
        tokio::spawn(locks.clone().release_sent());
        drop(locks.hold("1", "token-1"));
        tokio::time::sleep(SWEEP_DELAY * 3).await;
        for answered in 0..FENCES {
            assert_eq!(
                ids(&locks),
                ["1"],
                "released after {answered} answered fences"
            );
            answers.add_permits(1);
            tokio::time::sleep(SWEEP_DELAY).await;
        }
        assert!(ids(&locks).is_empty(), "still renewed: {:?}", ids(&locks));
        assert_eq!(fence_calls.load(Ordering::SeqCst), FENCES);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_fence_unanswered_while_the_thread_ran_releases_its_jobs_after_the_response_timeout()
    {
        let locks = ActiveLocks::default();
        let fence_calls = Arc::new(AtomicUsize::new(0));
        locks.fence_once(|| fence(fence_calls.clone(), |_| std::future::pending()));
        tokio::spawn(locks.clone().release_sent());
        drop(locks.hold("1", "token-1"));
        tokio::time::sleep(RESPONSE_TIMEOUT - SWEEP_DELAY).await;
        assert_eq!(ids(&locks), ["1"], "released before the response timeout");
        tokio::time::sleep(SWEEP_DELAY * 3).await;
        assert!(ids(&locks).is_empty(), "still renewed: {:?}", ids(&locks));
        assert_eq!(fence_calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_fence_the_connection_gave_up_on_at_once_releases_its_jobs() {
        let locks = ActiveLocks::default();
        let fence_calls = Arc::new(AtomicUsize::new(0));
        locks.fence_once(|| fence(fence_calls.clone(), |_| std::future::ready(false)));
        tokio::spawn(locks.clone().release_sent());
        drop(locks.hold("1", "token-1"));
        tokio::time::sleep(SWEEP_DELAY * 3).await;
        assert!(ids(&locks).is_empty(), "still renewed: {:?}", ids(&locks));
        assert_eq!(fence_calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_fence_whose_wait_ended_long_after_its_time_is_sent_again() {
        let locks = ActiveLocks::default();
        let fence_calls = Arc::new(AtomicUsize::new(0));
        // The first call moves the clock past the response timeout, as a thread blocked that
        // long finds it, and is never answered; the next ones are answered at once.
        locks.fence_once(|| {
            fence(fence_calls.clone(), |call| async move {
                if call == 1 {
                    tokio::time::advance(RESPONSE_TIMEOUT + LATE_WAKE * 2).await;
                    std::future::pending::<()>().await;
                }
                true
            })
        });
        tokio::spawn(locks.clone().release_sent());
        drop(locks.hold("1", "token-1"));
        tokio::time::sleep(RESPONSE_TIMEOUT * 3).await;
        assert!(ids(&locks).is_empty(), "still renewed: {:?}", ids(&locks));
        assert_eq!(
            fence_calls.load(Ordering::SeqCst),
            1 + FENCES,
            "the late fence was not sent again"
        );
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
