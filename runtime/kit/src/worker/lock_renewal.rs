//! Lock renewal on a thread of its own: every `lock_duration / 2` it extends the lock of every
//! job the worker is processing, over a connection of its own. Handlers run on the queue thread;
//! one that blocks it (a `std::thread::sleep`, a synchronous client) would stop bullmq-official's
//! own renewal, which runs there too, and the job would be taken back by a stalled check and run
//! twice.
//!
//! The extension is a script of this module's that does what BullMQ's `extendLock` does, keyed
//! by the job's id alone. bullmq-official offers that script only as a method of a job read
//! whole from Redis, a read that fails on a job whose hash holds bytes that are not UTF-8 (the
//! fetch reads them with the bad bytes replaced, as Node's client does, so the job runs): its
//! lock would then expire under its handler and a stalled check would hand it out again. It
//! also spares reading every job's data, however large, once more.

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
                // that Node's does not; the producer's connect puts Node's there instead, and
                // warns of a Redis that may evict keys (`eviction_policy.rs`).
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
                    extend: redis::Script::new(EXTEND_LOCK_LUA),
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

/// `KEYS[1]` the job's lock, `KEYS[2]` the queue's stalled set; `ARGV[1]` the lock token,
/// `ARGV[2]` the lock duration (ms), `ARGV[3]` the job id. While the lock is the token's, gives it
/// the full duration again and takes the job off the set of jobs the next stalled check
/// suspects. 1 when extended, 0 when the lock is gone or another's.
const EXTEND_LOCK_LUA: &str = r#"
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("PEXPIRE", KEYS[1], ARGV[2])
redis.call("SREM", KEYS[2], ARGV[3])
return 1
"#;

struct Renewer<'a> {
    queue: &'a bullmq::Queue,
    locks: ActiveLocks,
    extend: redis::Script,
    lock_ms: u64,
}

impl Renewer<'_> {
    async fn renew(&mut self, held: Vec<(String, String)>) {
        let keys = self.queue.keys();
        let stalled = keys.stalled();
        let mut conn = self.queue.connection().connection();
        for (job_id, token) in held {
            let extended = self
                .extend
                .key(format!("{}:lock", keys.job_key(&job_id)))
                .key(&stalled)
                .arg(&token)
                .arg(self.lock_ms)
                .arg(&job_id)
                .invoke_async::<i64>(&mut conn)
                .await;
            match extended {
                Ok(1) => {}
                // The lock is gone or another's: the job finished here (its completion reached
                // Redis: nothing more to renew), or a stalled check took it back.
                Ok(_) if !self.locks.running(&job_id, &token) => {
                    self.locks.forget_finished(&job_id, &token);
                }
                Ok(_) => warn!(
                    job_id,
                    "lock extension failed: the lock is no longer this worker's"
                ),
                Err(err) => {
                    if self.locks.running(&job_id, &token) {
                        warn!(job_id, error = %err, "lock extension failed");
                    }
                }
            }
        }
    }
}
