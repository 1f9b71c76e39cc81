//! Adapts [`Handlers`] to bullmq-official's processor: dispatch by name, failure bookkeeping,
//! and handing jobs back to the queue when shutdown's grace period runs out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bullmq::worker::{CancellationToken, ProcessorFn};
use redis::aio::ConnectionManager;
use serde_json::Value;
use tokio::sync::watch;
use tracing::{info, warn};

use super::active_locks::{ActiveLocks, Fence};
use super::catch_panic::CatchPanic;
use super::error::JobError;
use super::failure_fields::{self, FailedAttempt};
use super::hand_back_stall;
use super::handlers::Handlers;
use super::job::{InBlockingWork, Job};
use super::late_start;
use super::next_iteration::{self, Outcome};
use super::node_options::{self, OptionsCheck};
use super::redis_retry::while_redis_comes_back;
use super::scheduler_template;
use super::stored_data::{self, StoredData};

pub(crate) struct ProcessorContext {
    pub handlers: Handlers,
    pub queue: String,
    /// `<prefix>:<queue>:`, to build job keys.
    pub key_prefix: String,
    pub conn: ConnectionManager,
    /// Flips to `true` when in-flight jobs must be handed back (shutdown grace is over).
    pub hand_back: watch::Receiver<bool>,
    /// Set once a job is handed back for shutdown.
    pub handed_back: Arc<AtomicBool>,
    /// How many jobs the shutdown lets finish their blocking work past its grace period.
    pub finishing: watch::Sender<usize>,
    /// Where the lock renewal thread finds the jobs in flight.
    pub locks: ActiveLocks,
    pub lock_duration: Duration,
    /// How many stalls, hand-backs at shutdown among them, a job may have before it fails.
    pub max_stalled_count: u32,
}

pub(crate) fn build(ctx: ProcessorContext) -> ProcessorFn {
    let ctx = Arc::new(ctx);
    Arc::new(move |job: bullmq::Job, _cancel: CancellationToken| {
        let ctx = ctx.clone();
        Box::pin(async move { process(&ctx, job).await })
    })
}

/// One job the shutdown waits for past its grace period, counted in `finishing` while it lives.
struct Finishing<'a>(&'a watch::Sender<usize>);

impl<'a> Finishing<'a> {
    fn count(finishing: &'a watch::Sender<usize>) -> Self {
        finishing.send_modify(|count| *count += 1);
        Finishing(finishing)
    }
}

impl Drop for Finishing<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|count| *count -= 1);
    }
}

/// The sweeps' fence (see `active_locks.rs`): counts of `job`'s children (four O(1) reads),
/// through its handle on the connection bullmq-official sends every completion on. Keeps a copy
/// of `job` (the worker's first) for the worker's life.
fn completion_fence(job: &bullmq::Job) -> Fence {
    let job = Arc::new(job.clone());
    Arc::new(move || {
        let job = job.clone();
        Box::pin(async move { job.get_dependencies_count().await.is_ok() })
    })
}

async fn process(
    ctx: &ProcessorContext,
    job: bullmq::Job,
) -> Result<serde_json::Value, bullmq::Error> {
    let job_id = job.id().to_string();
    let job_name = job.name().to_string();
    let token = job.token().unwrap_or_default().to_string();
    let mut stack_trace_limit = job.opts().stack_trace_limit;
    // A retry that would need a backoff this worker does not know (see `not_retried` below).
    let unknown_backoff = node_options::unknown_backoff(job.opts()).map(str::to_owned);
    // Saturating: the count is read from the job's hash, which may hold any u32, and an
    // overflow here would panic outside the handler's catch and leave the job active.
    let attempts_left = job
        .opts()
        .attempts
        .is_some_and(|attempts| job.attempts_made().saturating_add(1) < attempts);
    // The parent this job may fail if it fails for good (`failParentOnFailure`, which Node
    // stores as `fpof`, a name bullmq-official does not read: any parent may be).
    let parent = job.parent_key().cloned();
    let key = format!("{}{}", ctx.key_prefix, job_id);
    ctx.locks.fence_once(|| completion_fence(&job));
    let _renewed = ctx.locks.hold(&job_id, &token);
    // Node's worker adds a scheduler's next iteration as it fetches the current one, whatever
    // becomes of that one.
    if let Some(scheduler) = job.repeat_job_key() {
        if let Some(limit) = iteration_fetched(ctx, &job, scheduler, &key, &token).await {
            stack_trace_limit = Some(limit);
        }
    }
    if !late_start::lock_still_ours(&job, &token, ctx.lock_duration).await {
        warn!(
            job_id,
            job_name, "job not run: its lock expired while it waited for a blocked queue thread"
        );
        // Handing back checks the lock: with the lock gone it changes nothing.
        return Err(bullmq::Error::RateLimited { delay_ms: 0 });
    }

    let attempts_made = job.attempts_made();
    let options = if node_options::needs_check(job.opts(), attempts_made) {
        while_redis_comes_back!(node_options::check(
            &mut ctx.conn.clone(),
            &key,
            &token,
            attempts_made
        ))
    } else {
        Ok(OptionsCheck::Readable)
    };
    // A read only for jobs bullmq-official read as `null` (see `stored_data.rs`).
    let data = if job.data().is_null() {
        match while_redis_comes_back!(stored_data::check(&mut ctx.conn.clone(), &key)) {
            Ok(StoredData::AsRead) => Ok(None),
            Ok(StoredData::Replaced(data)) => Ok(Some(data)),
            Ok(StoredData::NotJson(reason)) => Err(JobError::fatal(reason)),
            Err(redis_err) => Err(JobError::retryable(format!(
                "could not read the job's data: {redis_err}"
            ))),
        }
    } else {
        Ok(None)
    };
    let blocking = InBlockingWork::default();
    let handed = Job::new(job, ctx.conn.clone(), key.clone(), blocking.clone());
    let dispatched = data.and_then(|replaced| {
        ctx.handlers
            .dispatch(handed.with_replaced_data(replaced), &ctx.queue)
    });
    let outcome = match (options, dispatched) {
        (Err(redis_err), _) => Err(JobError::retryable(format!(
            "could not read the job's options: {redis_err}"
        ))),
        (Ok(OptionsCheck::Repaired), _) => {
            // Same hand-back as at shutdown (below): the job runs next, no attempt counted, and
            // this time bullmq-official reads the repaired options.
            info!(
                job_id,
                job_name, "job options rewritten to integers Node would use; handing the job back"
            );
            return Err(bullmq::Error::RateLimited { delay_ms: 0 });
        }
        (Ok(OptionsCheck::Unreadable(reason)), _) => Err(JobError::fatal(reason)),
        // No handler for its name, or data that cannot be read.
        (Ok(OptionsCheck::Readable), Err(not_run)) => Err(not_run),
        (Ok(OptionsCheck::Readable), Ok(handler)) => {
            // A panicking handler becomes a failed attempt instead of a job that stays active
            // (and lock-renewed) forever inside bullmq-official's bookkeeping. Caught in place
            // rather than with a spawned task: one less cross-thread hop per job.
            let mut running = CatchPanic::new(handler);
            let mut hand_back = ctx.hand_back.clone();
            let mut left_to_finish = None;
            // `None` once the handler is stopped for the hand-back.
            let caught = loop {
                tokio::select! {
                    caught = &mut running => break Some(caught),
                    _ = hand_back.wait_for(|give_back| *give_back), if left_to_finish.is_none() => {
                        if blocking.any() {
                            // Handed back, the job would run elsewhere while this work goes on.
                            info!(job_id, job_name, "shutdown grace period over: job left to finish its blocking work, which cannot be stopped");
                            left_to_finish = Some(Finishing::count(&ctx.finishing));
                            continue;
                        }
                        // Dropping `running` drops the handler's future: it stops at its current
                        // await.
                        info!(job_id, job_name, "shutdown grace period over: handing the job back to the queue");
                        if let Err(panic) = running.stop() {
                            warn!(job_id, job_name, panic = ?panic, "the handler panicked as it was stopped");
                        }
                        break None;
                    }
                }
            };
            let Some(caught) = caught else {
                count_hand_back(ctx, &job_id, &job_name, &token).await;
                ctx.handed_back.store(true, Ordering::Release);
                // bullmq-official answers a processor's RateLimited error by moving the job from
                // active back to wait (moveJobFromActiveToWait, RPUSH: it runs next), without
                // counting an attempt. That is exactly "return the job".
                return Err(bullmq::Error::RateLimited { delay_ms: 0 });
            };
            caught.unwrap_or_else(|panic| {
                Err(JobError::retryable(format!(
                    "the handler panicked: {panic}"
                )))
            })
        }
    };

    let outcome = match (outcome, unknown_backoff) {
        (Err(err), Some(backoff)) if err.is_retryable() && attempts_left => Err(JobError::fatal(
            node_options::not_retried(err.message(), &backoff),
        )),
        (outcome, _) => outcome,
    };
    match outcome {
        Ok(value) => Ok(value),
        Err(err) => {
            if let Some(parent_key) = parent.filter(|_| !err.is_retryable() || !attempts_left) {
                if let Err(redis_err) =
                    node_options::repair_parent(&mut ctx.conn.clone(), &parent_key).await
                {
                    warn!(job_id, error = %redis_err, "could not repair the parent's options");
                }
            }
            let stack = err.node_stack();
            let attempt = FailedAttempt {
                job_key: &key,
                token: &token,
                reason: err.message(),
                stack: &stack,
                stack_trace_limit,
            };
            if let Err(redis_err) = failure_fields::record(&mut ctx.conn.clone(), attempt).await {
                // The failure itself is still reported to the queue below; only the detail is lost.
                warn!(job_id, error = %redis_err, "could not record failedReason/stacktrace");
            }
            Err(to_bullmq_error(err, attempts_left))
        }
    }
}

/// Counts a job handed back at shutdown as the stall Node's worker would show, so a job that
/// never ends fails instead of coming back at every shutdown (`hand_back_stall.rs`). Not
/// retried while Redis is away: the shutdown's time is limited, and a job whose hand-back then
/// fails too is left to the stalled check, which counts it itself.
async fn count_hand_back(ctx: &ProcessorContext, job_id: &str, job_name: &str, token: &str) {
    let counted = hand_back_stall::count(
        &mut ctx.conn.clone(),
        &ctx.key_prefix,
        job_id,
        token,
        ctx.max_stalled_count,
    )
    .await;
    match counted {
        Ok(Some(stalled)) if stalled > u64::from(ctx.max_stalled_count) => warn!(
            job_id,
            job_name,
            stalled,
            "job handed back more often than the stalled limit allows: the next fetch fails it"
        ),
        Ok(_) => {}
        Err(redis_err) => {
            warn!(job_id, job_name, error = %redis_err, "could not count the hand-back as a stall");
        }
    }
}

/// What Node's worker does with a job scheduler's iteration it fetches: gives it all of its
/// template's options (`scheduler_template.rs`) and adds the next iteration
/// (`next_iteration.rs`), waiting as start-up waits for a Redis that went away (a restart drops
/// every connection): bullmq-official's own call after the handler cannot add every iteration
/// this can. Returns the stack trace limit the iteration then has, if it is one bullmq-official
/// did not read.
async fn iteration_fetched(
    ctx: &ProcessorContext,
    job: &bullmq::Job,
    scheduler: &str,
    job_key: &str,
    token: &str,
) -> Option<u32> {
    let scheduled = while_redis_comes_back!(next_scheduled(ctx, job, scheduler, job_key, token));
    scheduled.unwrap_or_else(|e| {
        // bullmq-official still adds one after the handler, if it can read the options.
        warn!(job_id = job.id(), error = %e, "could not add the job scheduler's next iteration");
        None
    })
}

async fn next_scheduled(
    ctx: &ProcessorContext,
    job: &bullmq::Job,
    scheduler: &str,
    job_key: &str,
    token: &str,
) -> redis::RedisResult<Option<u32>> {
    let job_id = job.id();
    let scheduler_key = format!("{}repeat:{scheduler}", ctx.key_prefix);
    let mut conn = ctx.conn.clone();
    let restored =
        scheduler_template::restore(&mut conn, job_id, job_key, token, &scheduler_key).await?;
    let Some(restored) = restored else {
        return Ok(None);
    };
    let fetched = next_iteration::Fetched {
        key_prefix: &ctx.key_prefix,
        scheduler,
        job_id,
        options: &restored.options,
        parsed: job.opts().repeat.as_ref(),
    };
    let outcome = next_iteration::add(&mut conn, &fetched, super::epoch_millis()).await?;
    if outcome == (Outcome::Ended { removed: true }) {
        info!(
            job_id,
            scheduler, "job scheduler ended with this iteration: removed"
        );
    }
    if !restored.written {
        return Ok(None);
    }
    Ok(restored
        .options
        .get("stackTraceLimit")
        .and_then(Value::as_u64)
        .map(|limit| u32::try_from(limit).unwrap_or(u32::MAX)))
}

/// A failure with no attempt left is handed over as unrecoverable: bullmq-official fails it for
/// good either way, but only this way without computing `attempts made + 1` itself, which
/// overflows (a panic in debug builds, the job left active) on a stored count of `u32::MAX`.
fn to_bullmq_error(err: JobError, attempts_left: bool) -> bullmq::Error {
    if err.is_retryable() && attempts_left {
        bullmq::Error::ProcessingError(err.message().to_string())
    } else {
        bullmq::Error::Unrecoverable(err.message().to_string())
    }
}
