//! Lock renewal on a thread of its own: every `lock_duration / 2` it extends the lock of every
//! job the worker is processing, with BullMQ's `extendLock` script over a connection of its own.
//! Handlers run on the queue thread; one that blocks it (a `std::thread::sleep`, a synchronous
//! client) would stop bullmq-official's own renewal, which runs there too, and the job would be
//! taken back by a stalled check and run twice.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::sync::oneshot;
use tracing::warn;

use super::active_locks::ActiveLocks;
use super::config::WorkerConfig;
use super::error::WorkerError;
use super::producer::Producer;

/// The thread's name in errors.
const LOCK_RENEWAL: &str = "lock renewal";

/// The running renewal thread; dropping this stops it.
pub(crate) struct LockRenewal {
    _stop: oneshot::Sender<()>,
}

/// Connects and starts renewing the locks in `locks`.
pub(crate) async fn start(
    config: &WorkerConfig,
    locks: ActiveLocks,
) -> Result<LockRenewal, WorkerError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| WorkerError::Thread {
            thread: LOCK_RENEWAL,
            source,
        })?;
    let queue_config = config.queue.clone();
    let lock_duration = config.lock_duration;
    let (started_tx, started) = oneshot::channel();
    let (stop, mut stop_rx) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("stackr-worker-locks".to_string())
        .spawn(move || {
            runtime.block_on(async move {
                // A producer's queue: bullmq-official's own leaves a field in the queue's meta
                // that Node's does not; the producer's connect puts Node's there instead.
                let producer = Producer::new(queue_config);
                let queue = match producer.connect().await {
                    Ok(queue) => queue,
                    Err(err) => {
                        let _ = started_tx.send(Err(err));
                        return;
                    }
                };
                let _ = started_tx.send(Ok(()));
                let mut renewer = Renewer {
                    queue,
                    locks: locks.clone(),
                    jobs: HashMap::new(),
                    lock_ms: lock_duration.as_millis() as u64,
                };
                let mut ticks =
                    tokio::time::interval((lock_duration / 2).max(Duration::from_millis(1)));
                ticks.tick().await; // the first tick is immediate; a lock just taken needs nothing
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => return,
                        _ = ticks.tick() => renewer.renew(locks.snapshot()).await,
                    }
                }
            });
        })
        .map_err(|source| WorkerError::Thread {
            thread: LOCK_RENEWAL,
            source,
        })?;
    started.await.map_err(|_| WorkerError::ThreadDied {
        thread: LOCK_RENEWAL,
    })??;
    Ok(LockRenewal { _stop: stop })
}

struct Renewer<'a> {
    queue: &'a bullmq::Queue,
    locks: ActiveLocks,
    /// The jobs being renewed, read once each: `extend_lock` is a method of a job read through
    /// this thread's queue, so it runs over this thread's connection.
    jobs: HashMap<String, bullmq::Job>,
    lock_ms: u64,
}

impl Renewer<'_> {
    async fn renew(&mut self, held: Vec<(String, String)>) {
        let held_ids: HashSet<&str> = held.iter().map(|(job_id, _)| job_id.as_str()).collect();
        self.jobs
            .retain(|job_id, _| held_ids.contains(job_id.as_str()));
        for (job_id, token) in held {
            if !self.jobs.contains_key(&job_id) {
                match self.queue.get_job(&job_id).await {
                    Ok(Some(job)) => {
                        self.jobs.insert(job_id.clone(), job);
                    }
                    // Finished and removed since the snapshot: nothing to renew.
                    Ok(None) => {
                        self.locks.forget_finished(&job_id, &token);
                        continue;
                    }
                    Err(err) => {
                        if self.locks.running(&job_id, &token) {
                            warn!(job_id, error = %err, "lock extension failed: cannot read the job");
                        }
                        continue;
                    }
                }
            }
            match self.jobs[&job_id].extend_lock(&token, self.lock_ms).await {
                Ok(()) => {}
                // The lock is gone or another's: the job finished here (its completion reached
                // Redis: nothing more to renew), or a stalled check took it back.
                Err(bullmq::Error::JobLocked(_)) if !self.locks.running(&job_id, &token) => {
                    self.locks.forget_finished(&job_id, &token);
                }
                Err(err) => {
                    if self.locks.running(&job_id, &token) {
                        warn!(job_id, error = %err, "lock extension failed");
                    }
                }
            }
        }
    }
}
