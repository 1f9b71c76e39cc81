//! Errors of the worker module: configuration, start-up/queue failures, and a handler's failure.

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
        expected: &'static str,
    },
    #[error("{var}={path:?} cannot be used: {reason}")]
    PasswordFile {
        var: &'static str,
        path: String,
        reason: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(var: &'static str, value: &str, expected: &'static str) -> Self {
        ConfigError::Invalid {
            var,
            value: value.to_string(),
            expected,
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
}

/// The failure a job handler returns.
///
/// `?` works on any `std::error::Error` and produces a *retryable* failure (the job is retried
/// while it has attempts left, with its backoff). Use [`JobError::fatal`] when retrying cannot
/// help (bad input): the job fails at once whatever its `attempts`.
///
/// On the wire the message becomes the job's `failedReason`, exactly as Node BullMQ stores
/// `err.message`.
pub struct JobError {
    message: String,
    retryable: bool,
}

impl JobError {
    /// A failure worth retrying (network hiccup, dependency down).
    pub fn retryable(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure that retrying cannot fix; BullMQ's `UnrecoverableError`.
    pub fn fatal(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            retryable: false,
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

// Not `std::error::Error` on purpose: that is what lets the blanket `From` below exist (the same
// trick as anyhow), so handlers can use `?` on any error type.
impl<E: std::error::Error + Send + Sync + 'static> From<E> for JobError {
    fn from(err: E) -> Self {
        // Keep the causes: "connect failed: connection refused" is what an operator needs.
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
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
