//! A handler running as a task of the handlers' runtime (the caller's), away from the queue
//! thread: a handler that blocks its thread cannot hold up lock renewal, the stalled check or
//! the fetching of other jobs.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::error::JobError;
use super::handlers::HandlerFuture;

/// The handler's task. Dropping it aborts the task, so a job handed back to the queue (or left
/// to the stalled check when the queue thread stops) does not go on running unseen; the handler
/// stops at its next await.
pub(crate) struct HandlerTask {
    task: JoinHandle<Result<serde_json::Value, JobError>>,
}

impl HandlerTask {
    pub(crate) fn spawn(runtime: &Handle, handler: HandlerFuture) -> Self {
        HandlerTask {
            task: runtime.spawn(handler),
        }
    }
}

impl Drop for HandlerTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The handler's outcome, a panic being a failed (retryable) attempt like an error; `None` when
/// the task was cancelled, which only the handlers' runtime shutting down does: the job did not
/// fail, it was interrupted.
impl Future for HandlerTask {
    type Output = Option<Result<serde_json::Value, JobError>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx).map(|joined| match joined {
            Ok(outcome) => Some(outcome),
            Err(err) if err.is_panic() => Some(Err(JobError::retryable(format!(
                "the handler panicked: {}",
                panic_message(&*err.into_panic())
            )))),
            Err(_cancelled) => None,
        })
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(std::string::ToString::to_string)
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into())
}
