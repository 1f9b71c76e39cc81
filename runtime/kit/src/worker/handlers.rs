//! The handler registry: one async function per job name.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

use super::error::JobError;
use super::job::Job;

pub(crate) type HandlerFuture =
    Pin<Box<dyn Future<Output = Result<serde_json::Value, JobError>> + Send>>;
type Handler = Arc<dyn Fn(Job) -> HandlerFuture + Send + Sync>;

/// Handlers by job name.
///
/// ```no_run
/// use stackr_kit::worker::{Handlers, Job, JobError};
///
/// #[derive(serde::Deserialize)]
/// struct Welcome { user_id: String }
///
/// let handlers = Handlers::new().on("welcome", |job: Job| async move {
///     let welcome: Welcome = job.parse()?;
///     Ok::<_, JobError>(serde_json::json!({ "welcomed": welcome.user_id }))
/// });
/// ```
#[derive(Clone, Default)]
pub struct Handlers {
    by_name: BTreeMap<String, Handler>,
}

impl Handlers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the handler for jobs named `name`. Its return value is stored as the job's
    /// `returnvalue` (JSON), visible to Node BullMQ and `QueueEvents`.
    ///
    /// # Panics
    /// When `name` already has a handler: two handlers for one name is a wiring mistake that
    /// should stop the worker at start-up, not silently pick one.
    pub fn on<F, Fut, R>(mut self, name: &str, handler: F) -> Self
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, JobError>> + Send + 'static,
        R: Serialize + Send + 'static,
    {
        // Called inside the future, not when the future is made: the processor makes it before
        // it knows the job will run (a job whose options are rewritten is handed back instead),
        // and catches panics only while polling it. A closure that panics before returning its
        // future would otherwise panic outside that catch, leaving the job in the worker's
        // bookkeeping (shutdown waiting for it) and active in Redis until a stalled check.
        let handler = Arc::new(handler);
        let handler: Handler = Arc::new(move |job: Job| {
            let handler = handler.clone();
            Box::pin(async move {
                let value = handler(job).await?;
                serde_json::to_value(value).map_err(|err| {
                    JobError::fatal(format!("the handler's return value is not JSON: {err}"))
                })
            })
        });
        if self.by_name.insert(name.to_string(), handler).is_some() {
            panic!("two worker handlers registered for job name {name:?}");
        }
        self
    }

    /// Registered job names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Starts the handler for `job`, or explains that no handler exists for its name.
    pub(crate) fn dispatch(&self, job: Job, queue: &str) -> Result<HandlerFuture, JobError> {
        match self.by_name.get(job.name()) {
            Some(handler) => Ok(handler(job)),
            None => Err(JobError::fatal(format!(
                "no handler for job name {:?} on queue {queue:?}; this worker handles: {}",
                job.name(),
                self.names().join(", ")
            ))),
        }
    }
}
