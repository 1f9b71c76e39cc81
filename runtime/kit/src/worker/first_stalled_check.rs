//! The stalled-jobs check a worker runs as it starts, as Node's worker does.
//!
//! Why: bullmq-official's worker runs its first check one `stalled_interval` after start, so a
//! worker restarted after a crash left the dead worker's jobs in `active` for a whole interval
//! more. The check is BullMQ's own script (`moveStalledJobsToWait`), which bullmq-official keeps
//! private; the only way to run it is a worker's checker. So a second, paused worker (it never
//! fetches a job) is started with a short interval, runs its checker once, and is closed. The
//! check's mutex (the queue's `stalled-check` key) is then given the configured interval, as if
//! the check had run with it.

use std::sync::Arc;
use std::time::Duration;

use bullmq::worker::WorkerEvent;
use redis::aio::ConnectionManager;
use tokio::time::Instant;
use tracing::warn;

use super::config::WorkerConfig;
use super::connection;
use super::queue_worker::log_stalled;

/// The probe's interval: how soon after start its checker runs.
const PROBE_INTERVAL: Duration = Duration::from_millis(20);

/// How long to wait for the probe's check before giving up on it (the regular checks still run).
const PROBE_DEADLINE: Duration = Duration::from_secs(10);

/// Runs one stalled check now, unless any worker of the queue ran one within the interval (Node
/// skips it then too: the `stalled-check` key exists). Failures are logged, never fatal: the
/// regular checks recover the same jobs one interval later.
pub(crate) async fn run(config: &WorkerConfig, conn: &mut ConnectionManager) {
    let queue = &config.queue;
    let mutex = format!("{}:{}:stalled-check", queue.prefix, queue.queue);
    match mutex_held(conn, &mutex).await {
        Ok(true) => return,
        Ok(false) => {}
        Err(err) => {
            warn!(error = %err, "first stalled check skipped: cannot read its mutex");
            return;
        }
    }
    let options = bullmq::WorkerOptions::new()
        .connection(connection::options(queue))
        .prefix(queue.prefix.clone())
        .concurrency(1)
        .stalled_interval(PROBE_INTERVAL)
        .max_stalled_count(config.max_stalled_count)
        .skip_lock_renewal()
        .autorun(false);
    let never_runs: bullmq::worker::ProcessorFn = Arc::new(|_job, _cancel| {
        Box::pin(async { Err(bullmq::Error::RateLimited { delay_ms: 0 }) })
    });
    let probe = match bullmq::Worker::with_options(&queue.queue, never_runs, options).await {
        Ok(probe) => probe,
        Err(err) => {
            warn!(error = %err, "first stalled check skipped: cannot start its checker");
            return;
        }
    };
    probe.pause();
    if let Err(err) = probe.run().await {
        warn!(error = %err, "first stalled check skipped: cannot start its checker");
        return;
    }
    let deadline = Instant::now() + PROBE_DEADLINE;
    loop {
        match mutex_held(conn, &mutex).await {
            Ok(true) => break,
            Ok(false) if Instant::now() < deadline => {
                tokio::time::sleep(PROBE_INTERVAL / 2).await;
            }
            Ok(false) => {
                warn!("first stalled check did not run in time; the regular checks will");
                break;
            }
            Err(err) => {
                warn!(error = %err, "first stalled check: cannot read its mutex");
                break;
            }
        }
    }
    // Give the mutex the configured interval. If the probe's short one already expired, there
    // is nothing to extend: another check may then run early, which is harmless.
    let _: redis::RedisResult<i64> = redis::cmd("PEXPIRE")
        .arg(&mutex)
        .arg(config.stalled_interval.as_millis() as u64)
        .query_async(conn)
        .await;
    let _ = probe.close(PROBE_DEADLINE.as_millis() as u64).await;
    while let Ok(Some(event)) = tokio::time::timeout(Duration::ZERO, probe.next_event()).await {
        if let WorkerEvent::Stalled { job_id } = event {
            log_stalled(&job_id);
        }
    }
}

async fn mutex_held(conn: &mut ConnectionManager, key: &str) -> redis::RedisResult<bool> {
    redis::cmd("EXISTS").arg(key).query_async(conn).await
}
