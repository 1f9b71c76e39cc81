//! A dependency that stops answering (a store, auth) is logged when that starts and when it
//! ends, not at every failed use: under traffic, a line per request buries everything else.

use std::fmt::Display;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a failing dependency must go without a failure before it is logged back. Uses that
/// fail and succeed by turns (a partial outage: auth's database down while its answers that
/// need none still come; or a caller picking requests a peer answers with a 500) would
/// otherwise write a line per use, and log the dependency back between two of its failures.
const QUIET_BEFORE_BACK: Duration = Duration::from_secs(10);

/// What is known of one dependency: when it last failed, while it counts as failing (from its
/// first failure until a success [`QUIET_BEFORE_BACK`] after the last one).
#[derive(Debug)]
pub(crate) struct Outage {
    what: String,
    last_failure: Mutex<Option<Instant>>,
}

impl Outage {
    pub(crate) fn new(what: impl Into<String>) -> Self {
        Outage {
            what: what.into(),
            last_failure: Mutex::default(),
        }
    }

    /// Notes one use: a WARN line when it fails while the dependency was not failing, an INFO
    /// line when it succeeds [`QUIET_BEFORE_BACK`] after the last failure, DEBUG for another
    /// failure.
    pub(crate) fn note(&self, result: Result<(), impl Display>) {
        let what = &self.what;
        let now = Instant::now();
        let mut last_failure = self
            .last_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match result {
            Err(error) => {
                if last_failure.replace(now).is_some() {
                    tracing::debug!(%error, "{what} still failing");
                } else {
                    tracing::warn!(%error, "{what} failing");
                }
            }
            Ok(()) => {
                if last_failure.is_some_and(|at| now.duration_since(at) >= QUIET_BEFORE_BACK) {
                    *last_failure = None;
                    tracing::info!("{what} answering again");
                }
            }
        }
    }
}
