//! Errors of the worker module: configuration, start-up/queue failures, and a handler's failure.

use std::backtrace::Backtrace;
use std::fmt;

/// A worker/producer environment variable is missing or unusable. The message names the variable
/// and says what is expected, so the operator can fix the unit or process-compose file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is not set; the stackr generator sets it for every worker and API process (see docs/runtime-contract.md)")]
    Missing { var: &'static str },
    #[error("{var}={value:?} is invalid: {expected}")]
    Invalid {
        var: &'static str,
        value: String,
        expected: std::borrow::Cow<'static, str>,
    },
    #[error("{var}={path:?} cannot be used: {reason}")]
    PasswordFile {
        var: &'static str,
        path: String,
        reason: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(
        var: &'static str,
        value: &str,
        expected: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Self {
        ConfigError::Invalid {
            var,
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}

/// Why the worker or the producer could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot reach the queue's Redis at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("queue operation failed: {0}")]
    Queue(#[from] bullmq::Error),
    #[error("job data for {name:?} cannot be serialized to JSON: {source}")]
    Data {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot install the shutdown signal handler: {0}")]
    Signal(#[source] std::io::Error),
    #[error("cannot start the worker's {thread} thread: {source}")]
    Thread {
        thread: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the worker's {thread} thread stopped unexpectedly (it panicked; see its message above)"
    )]
    ThreadDied { thread: &'static str },
}

/// The failure a job handler returns.
///
/// `?` works on any `std::error::Error` and produces a *retryable* failure (the job is retried
/// while it has attempts left, with its backoff). Use [`JobError::fatal`] when retrying cannot
/// help (bad input): the job fails at once whatever its `attempts`.
///
/// On the wire the message becomes the job's `failedReason`, exactly as Node BullMQ stores
/// `err.message`, and the job's `stacktrace` gets an entry shaped like Node's `err.stack`, with
/// the frames of the Rust stack where the error was created.
pub struct JobError {
    message: String,
    retryable: bool,
    backtrace: Backtrace,
}

impl JobError {
    /// A failure worth retrying (network hiccup, dependency down).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::new(message.into(), true)
    }

    /// A failure that retrying cannot fix; BullMQ's `UnrecoverableError`.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self::new(message.into(), false)
    }

    // Every constructor goes through here, so the capture frames are always the same ones to
    // skip (node_stack.rs). Captured whatever RUST_BACKTRACE says: Node always records a stack.
    fn new(message: String, retryable: bool) -> Self {
        JobError {
            message,
            retryable,
            backtrace: Backtrace::force_capture(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The error class Node would name: a plain `Error`, or BullMQ's `UnrecoverableError`.
    fn class(&self) -> &'static str {
        if self.retryable {
            "Error"
        } else {
            "UnrecoverableError"
        }
    }

    /// The `stacktrace` entry Node would store for this failure (its `err.stack`).
    pub(crate) fn node_stack(&self) -> String {
        super::node_stack::format(self.class(), &self.message, &self.backtrace)
    }
}

// Not `std::error::Error` on purpose: that is what lets the blanket `From` below exist (the same
// trick as anyhow), so handlers can use `?` on any error type.
impl<E: std::error::Error + Send + Sync + 'static> From<E> for JobError {
    fn from(err: E) -> Self {
        // Keep the causes: "connect failed: connection refused" is what an operator needs. Many
        // errors already print their cause (redis: "ResponseError: …" over a source that says
        // the same); a cause whose text is already in the message is not repeated.
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            if !message.contains(&cause_text) {
                message.push_str(": ");
                message.push_str(&cause_text);
            }
            source = cause.source();
        }
        JobError::retryable(message)
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.retryable { "retryable" } else { "fatal" };
        write!(f, "JobError({kind}: {:?})", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Inner;
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("connection refused")
        }
    }
    impl std::error::Error for Inner {}

    /// `outer` prints its cause or not; the cause must appear exactly once either way.
    #[derive(Debug)]
    struct Outer(&'static str);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&Inner)
        }
    }

    #[test]
    fn causes_are_kept_once() {
        assert_eq!(
            JobError::from(Outer("connect failed")).message(),
            "connect failed: connection refused"
        );
        assert_eq!(
            JobError::from(Outer("connect failed: connection refused")).message(),
            "connect failed: connection refused"
        );
    }
}
