//! Turns a panic inside a handler's future into an error value, in place (no extra task).

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Polls `inner`, catching a panic raised while polling. After a panic the inner future is
/// never polled again (it is dropped with the wrapper), so the unwind-safety assertion holds:
/// nothing observes its possibly broken state.
pub(crate) struct CatchPanic<F> {
    inner: Pin<Box<F>>,
}

impl<F> CatchPanic<F> {
    pub(crate) fn new(inner: F) -> Self {
        CatchPanic {
            inner: Box::pin(inner),
        }
    }

    /// Drops the inner future before it is done, catching a panic raised while dropping it (a
    /// guard that panics when dropped mid-work): the panic would otherwise escape the job's
    /// processing, which then never reports back. The panic's message, if any.
    pub(crate) fn stop(self) -> Result<(), String> {
        catch_unwind(AssertUnwindSafe(move || drop(self))).map_err(message)
    }
}

fn message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(std::string::ToString::to_string)
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into())
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(message(payload))),
        }
    }
}
