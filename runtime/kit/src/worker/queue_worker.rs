//! bullmq-official's `Worker` as the queue thread (`queue_thread.rs`) runs it: started with the
//! lock renewal thread beside it, its events drained, shut down gracefully.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bullmq::worker::WorkerEvent;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::active_locks::ActiveLocks;
use super::config::{redact_password, WorkerConfig};
use super::connection;
use super::error::{JobError, WorkerError};
use super::failure_fields;
use super::first_stalled_check;
use super::handlers::Handlers;
use super::lock_renewal::{self, LockRenewal};
use super::processor::{self, ProcessorContext};
use super::runner::ShutdownReport;

/// How long a BZPOPMIN on the queue's marker blocks when the queue is empty (seconds). Also the
/// worst case for noticing shutdown when another worker swallows our wake-up (see `shutdown`).
const DRAIN_DELAY_SECS: u64 = 5;

/// How long fetching waits after a failed fetch before the next try (bullmq-official's
/// `run_retry_delay`, 15 s unless set). A Redis restart drops the worker's connections and the
/// next fetch fails once; Node's client (ioredis) queues commands while it connects again, so
/// Node's worker goes on as soon as Redis is back, and so does this one, within this delay.
/// During a longer outage bullmq-official logs each failed try, one a second.
const FETCH_RETRY_DELAY: Duration = Duration::from_secs(1);

/// How long the shutdown waits, once its grace period is over and no job is left to finish its
/// blocking work, for bullmq-official's last Redis calls (handing jobs back, recording the last
/// completions) and for its fetch loop. A Redis that answers takes milliseconds for the calls,
/// but the fetch loop may sit out a blocking read begun before the shutdown (DRAIN_DELAY_SECS,
/// when another worker took the wake-up); one that is gone would hold the stop for as long as
/// bullmq-official's client keeps trying (about 30 s), past a service manager's stop timeout.
const LAST_CALLS_LIMIT: Duration = Duration::from_secs(DRAIN_DELAY_SECS + 2);

/// How long the shutdown's wake-ups of another worker (best effort) may take.
const WAKE_UP_LIMIT: Duration = Duration::from_secs(1);

/// A started bullmq-official worker with its event drain.
pub(crate) struct QueueWorker {
    pub(crate) worker: Arc<bullmq::Worker>,
    config: WorkerConfig,
    conn: redis::aio::ConnectionManager,
    hand_back: watch::Sender<bool>,
    /// Set by the processor when it hands a job back.
    handed_back: Arc<AtomicBool>,
    /// Jobs left to finish their blocking work past the grace period (see the processor).
    finishing: watch::Sender<usize>,
    events: JoinHandle<()>,
    /// Stops with the worker (when this is dropped, after shutdown).
    _lock_renewal: LockRenewal,
}

/// Starts consuming the configured queue with `handlers`.
pub(crate) async fn start(
    config: WorkerConfig,
    handlers: Handlers,
) -> Result<QueueWorker, WorkerError> {
    let queue = &config.queue;
    let conn = connection::manager(queue).await?;
    let locks = ActiveLocks::default();
    let lock_renewal = lock_renewal::start(&config, locks.clone()).await?;
    let (hand_back, hand_back_rx) = watch::channel(false);
    let handed_back = Arc::new(AtomicBool::new(false));
    let finishing = watch::Sender::new(0);
    let processor = processor::build(ProcessorContext {
        handlers: handlers.clone(),
        queue: queue.queue.clone(),
        key_prefix: format!("{}:{}:", queue.prefix, queue.queue),
        conn: conn.clone(),
        hand_back: hand_back_rx,
        handed_back: handed_back.clone(),
        finishing: finishing.clone(),
        locks: locks.clone(),
        lock_duration: config.lock_duration,
        max_stalled_count: config.max_stalled_count,
    });

    // Before fetching, as Node's worker does: a dead worker's jobs go back to wait first.
    first_stalled_check::run(&config, &mut conn.clone()).await;

    let mut options = bullmq::WorkerOptions::new()
        .connection(connection::options(queue))
        .prefix(queue.prefix.clone())
        .concurrency(config.concurrency)
        .lock_duration(config.lock_duration)
        .skip_lock_renewal()
        .stalled_interval(config.stalled_interval)
        .max_stalled_count(config.max_stalled_count)
        .drain_delay(Duration::from_secs(DRAIN_DELAY_SECS))
        .run_retry_delay(FETCH_RETRY_DELAY);
    if let Some(name) = &config.name {
        options = options.name(name.clone());
    }
    let worker = bullmq::Worker::with_options(&queue.queue, processor, options)
        .await
        .map_err(|source| WorkerError::Connect {
            url: redact_password(&queue.redis_url),
            source: Box::new(source),
        })?;
    let worker = Arc::new(worker);
    let key_prefix = format!("{}:{}:", queue.prefix, queue.queue);
    let events = tokio::spawn(log_events(worker.clone(), conn.clone(), key_prefix));
    tokio::spawn(locks.release_sent());

    info!(
        queue = %queue.queue,
        prefix = %queue.prefix,
        concurrency = config.concurrency,
        handlers = ?handlers.names(),
        "worker started"
    );
    Ok(QueueWorker {
        worker,
        config,
        conn,
        hand_back,
        handed_back,
        finishing,
        events,
        _lock_renewal: lock_renewal,
    })
}

impl QueueWorker {
    /// [`RunningWorker::shutdown`](super::RunningWorker::shutdown), on the queue thread.
    pub(crate) async fn shutdown(mut self) -> Result<ShutdownReport, WorkerError> {
        let in_flight = self.worker.active_count().await;
        let grace = self.config.shutdown_grace;
        info!(
            in_flight,
            grace_ms = grace.as_millis() as u64,
            "worker shutting down: no new jobs"
        );

        // bullmq-official's close waits for in-flight jobs up to its timeout, then for its fetch
        // loop, and drops what is left. Every job is handed back when the grace period ends
        // except those left to finish their `Job::blocking` work, which cannot be stopped: the
        // timeout is theirs. (Dropped, such a job would stay active, its work going on.) The
        // process's stop timeout (systemd's) bounds the wait, as it bounds tokio's own wait for
        // its blocking threads when the runtime is dropped.
        let close_timeout = grace + Duration::from_secs(24 * 3600);
        let mut close = std::pin::pin!(self.worker.close(close_timeout.as_millis() as u64));
        let marker = format!(
            "{}:{}:marker",
            self.config.queue.prefix, self.config.queue.queue
        );
        // The fetch loop may sit in BZPOPMIN on the marker for up to DRAIN_DELAY_SECS: woken,
        // it sees that it is closing; another worker that wakes instead just finds nothing. The
        // wake-up runs beside the grace period, which is the operator's to set.
        let mut wake_up = std::pin::pin!(wake_a_waiting_worker(self.conn.clone(), marker.clone()));
        let mut grace_timer = std::pin::pin!(tokio::time::sleep(grace));
        let mut last_calls_over = std::pin::pin!(last_calls_over(
            self.hand_back.subscribe(),
            self.finishing.subscribe()
        ));

        // `biased`: close is polled first, so the worker is flagged as closing before the wake-up.
        let (mut woken, mut grace_over) = (false, false);
        let closed = loop {
            tokio::select! {
                biased;
                result = &mut close => break result,
                _ = &mut wake_up, if !woken => woken = true,
                _ = &mut grace_timer, if !grace_over => {
                    grace_over = true;
                    let still_running = self.worker.active_count().await;
                    if still_running > 0 {
                        // Each job says what becomes of it: handed back, or left to finish.
                        warn!(still_running, "shutdown grace period over");
                    }
                    let _ = self.hand_back.send(true);
                }
                _ = &mut last_calls_over => {
                    let left_active = self.worker.active_count().await;
                    warn!(
                        left_active,
                        limit_ms = LAST_CALLS_LIMIT.as_millis() as u64,
                        "Redis did not answer: could not hand the jobs back or record their end; \
                         they stay active until a worker's stalled check moves them back to wait"
                    );
                    break Ok(());
                }
            }
        };
        closed?;
        // This worker fetches no more: wake one that does. A prioritized job handed back went
        // to the priority set without a marker (BullMQ's moveJobFromActiveToWait), and the
        // closing fetch loop may have taken the marker of a job added meanwhile (Redis gives a
        // marker to the client that has waited longest). Either would wait until another
        // worker's blocking read ends.
        wake_a_waiting_worker(self.conn.clone(), marker).await;
        let handed_back = self.handed_back.load(Ordering::Acquire);
        // The event task ends on the `Closed` event; don't let a stuck one hold the process.
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut self.events).await;
        self.events.abort();
        info!("worker stopped");
        Ok(ShutdownReport {
            in_flight,
            handed_back,
        })
    }
}

/// Adds the "jobs available" marker (member "0", score 0, what every add writes), which ends
/// one worker's BZPOPMIN on `marker`. Best effort: without it that worker still looks again when
/// its blocking read ends.
async fn wake_a_waiting_worker(mut conn: redis::aio::ConnectionManager, marker: String) {
    let mut zadd = redis::cmd("ZADD");
    zadd.arg(marker).arg(0).arg("0");
    let _ = tokio::time::timeout(WAKE_UP_LIMIT, zadd.query_async::<()>(&mut conn)).await;
}

/// Ends [`LAST_CALLS_LIMIT`] after the grace period is over and no job is left to finish its
/// blocking work (counted anew if one is left to finish meanwhile).
async fn last_calls_over(
    mut grace_over: watch::Receiver<bool>,
    mut finishing: watch::Receiver<usize>,
) {
    let _ = grace_over.wait_for(|over| *over).await;
    loop {
        let _ = finishing.wait_for(|count| *count == 0).await;
        tokio::time::sleep(LAST_CALLS_LIMIT).await;
        if !finishing.has_changed().unwrap_or(false) {
            return;
        }
    }
}

/// How long events are left to gather after one arrived. Draining in batches instead of awaiting
/// each event saves two task wake-ups per job (`Active`, `Completed`), which is measurable at
/// concurrency 1.
const EVENT_DRAIN_PERIOD: Duration = Duration::from_millis(50);

/// Drains bullmq-official's event channel (unbounded: unread events would grow forever),
/// turns the events an operator cares about into log lines, and gives the jobs it failed
/// without running their processor the stack entry Node's worker would have stored. It waits
/// for the first event of a batch without a timer, so an idle worker does not wake up.
async fn log_events(
    worker: Arc<bullmq::Worker>,
    mut conn: redis::aio::ConnectionManager,
    key_prefix: String,
) {
    loop {
        let first = worker.next_event().await;
        if !on_event(first, &mut conn, &key_prefix).await {
            return;
        }
        tokio::time::sleep(EVENT_DRAIN_PERIOD).await;
        // A zero timeout still polls `next_event` once: take what is there, then wait again.
        while let Ok(event) = tokio::time::timeout(Duration::ZERO, worker.next_event()).await {
            if !on_event(event, &mut conn, &key_prefix).await {
                return;
            }
        }
    }
}

/// Handles one event of the channel; false once the channel is closed.
async fn on_event(
    event: Option<WorkerEvent>,
    conn: &mut redis::aio::ConnectionManager,
    key_prefix: &str,
) -> bool {
    match event {
        Some(WorkerEvent::Failed { job_id, error }) => {
            // Quoted: a handler's reason can quote the job's data, which a client may have
            // sent, and a line break written as it came would forge a line of the log.
            warn!(job_id, reason = ?error, "job attempt failed");
            // Only ever a fatal failure: a deferred one is never retried.
            let stack = JobError::fatal(error.as_str()).node_stack();
            let recorded =
                failure_fields::record_unprocessed(conn, key_prefix, &job_id, &error, &stack);
            if let Err(redis_err) = recorded.await {
                warn!(job_id, error = %redis_err, "could not record the stacktrace");
            }
        }
        Some(WorkerEvent::Stalled { job_id }) => log_stalled(&job_id),
        Some(WorkerEvent::Closed) | None => return false,
        // Errors among them: bullmq-official logs each where it happens, and logging it again
        // here would double every line of an outage.
        Some(_) => {}
    }
    true
}

pub(crate) fn log_stalled(job_id: &str) {
    warn!(
        job_id,
        "job stalled (its worker died or could not renew the lock); moved back to wait"
    );
}
