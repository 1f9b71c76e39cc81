//! The job a handler receives: the BullMQ job, seen through the few things a service needs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use redis::aio::ConnectionManager;
use serde::de::DeserializeOwned;

use super::error::JobError;
use super::job_log;
use super::redis_retry::while_redis_comes_back;

/// One job being processed. Data and return values are JSON, as in Node BullMQ.
pub struct Job {
    inner: bullmq::Job,
    conn: ConnectionManager,
    /// `<prefix>:<queue>:<id>`
    key: String,
    /// How many [`Job::blocking`] calls of this job are running (see [`InBlockingWork`]).
    blocking: InBlockingWork,
    /// The data Node would read where bullmq-official read `null` (`stored_data.rs`).
    replaced_data: Option<serde_json::Value>,
}

/// Counts a job's [`Job::blocking`] work still running, for the processor to see at the end of
/// the shutdown grace period.
#[derive(Clone, Default)]
pub(crate) struct InBlockingWork(Arc<AtomicUsize>);

impl InBlockingWork {
    pub(crate) fn any(&self) -> bool {
        self.0.load(Ordering::Acquire) > 0
    }
}

/// One running [`Job::blocking`] call; counted until its work has ended (or was never run).
struct BlockingCall(InBlockingWork);

impl BlockingCall {
    fn start(counter: &InBlockingWork) -> Self {
        counter.0.fetch_add(1, Ordering::AcqRel);
        BlockingCall(counter.clone())
    }
}

impl Drop for BlockingCall {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Job {
    pub(crate) fn new(
        inner: bullmq::Job,
        conn: ConnectionManager,
        key: String,
        blocking: InBlockingWork,
    ) -> Self {
        Job {
            inner,
            conn,
            key,
            blocking,
            replaced_data: None,
        }
    }

    /// The job with `data` in place of what bullmq-official read, if given.
    pub(crate) fn with_replaced_data(mut self, data: Option<serde_json::Value>) -> Self {
        self.replaced_data = data;
        self
    }

    /// The job id (`bull:<queue>:<id>` in Redis).
    pub fn id(&self) -> &str {
        self.inner.id()
    }

    /// The job name the handler was chosen by.
    pub fn name(&self) -> &str {
        self.inner.name()
    }

    /// The raw JSON data.
    pub fn data(&self) -> &serde_json::Value {
        self.replaced_data
            .as_ref()
            .unwrap_or_else(|| self.inner.data())
    }

    /// The data decoded into the handler's own type. A mismatch is a *fatal* failure: retrying
    /// the same bytes cannot make them decode.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_value(self.data().clone()).map_err(|err| {
            JobError::fatal(format!(
                "job {:?} ({}) has data that does not match the handler's type: {err}",
                self.name(),
                self.id()
            ))
        })
    }

    /// Attempts already made before this one (0 on the first run).
    pub fn attempts_made(&self) -> u32 {
        self.inner.attempts_made()
    }

    /// Reports progress; Node's `job.progress` and `QueueEvents` `progress` see it.
    pub async fn progress(&mut self, progress: serde_json::Value) -> Result<(), JobError> {
        let progress = match progress {
            serde_json::Value::Number(n) if n.as_f64().is_some() => {
                bullmq::JobProgress::Number(n.as_f64().unwrap_or_default())
            }
            other => bullmq::JobProgress::Object(other),
        };
        self.inner
            .update_progress(progress)
            .await
            .map_err(|err| JobError::retryable(format!("cannot record progress: {err}")))
    }

    /// Appends a line to the job's log (`queue.getJobLogs` in Node), keeping only the last
    /// `keepLogs` lines when the job has that option. Waits for a Redis that is restarting, as
    /// start-up waits for it.
    pub async fn log(&self, line: &str) -> Result<(), JobError> {
        let appended =
            while_redis_comes_back!(job_log::append(&mut self.conn.clone(), &self.key, line));
        match appended {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(JobError::retryable(format!(
                "cannot append to the log of job {}: it no longer exists",
                self.id()
            ))),
            Err(err) => Err(JobError::retryable(format!(
                "cannot append to the job log: {err}"
            ))),
        }
    }

    /// Runs `work` on tokio's blocking threads and waits for it: blocking or CPU-heavy work (a
    /// synchronous client, `std::thread::sleep`, hashing) belongs there, not on the worker's
    /// queue thread, where it would hold back every other job and the fetching.
    ///
    /// Prefer it to a bare `tokio::task::spawn_blocking`: the worker then knows the job is in
    /// work it cannot stop. When the shutdown grace period ends, such a job is left to finish
    /// and complete, instead of being handed back to the queue while its work goes on (another
    /// worker would run it at the same time).
    pub async fn blocking<T, F>(&self, work: F) -> Result<T, JobError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // Moved into the work, so the count goes down when the work ends, even after the handler
        // stopped waiting for it.
        let call = BlockingCall::start(&self.blocking);
        tokio::task::spawn_blocking(move || {
            let _call = call;
            work()
        })
        .await
        .map_err(|e| JobError::retryable(format!("the job's blocking work failed: {e}")))
    }

    /// The underlying `bullmq-official` job, for what this wrapper does not expose. Its data is
    /// as bullmq-official read it: `null` where [`Job::data`] gives what Node reads (`{}` for
    /// missing or empty data); read the data through [`Job::data`].
    pub fn inner(&self) -> &bullmq::Job {
        &self.inner
    }
}
