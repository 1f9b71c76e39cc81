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

/// What is known of one dependency: whether it is failing, and when it last failed.
#[derive(Debug)]
pub(crate) struct Outage {
    what: String,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Since the first failure logged, until a success [`QUIET_BEFORE_BACK`] after the last one.
    down: bool,
    last_failure: Option<Instant>,
}

impl Outage {
    pub(crate) fn new(what: impl Into<String>) -> Self {
        Outage {
            what: what.into(),
            state: Mutex::default(),
        }
    }

    /// Notes one use: a WARN line when it fails while the dependency was not failing, an INFO
    /// line when it succeeds [`QUIET_BEFORE_BACK`] after the last failure, DEBUG for another
    /// failure.
    pub(crate) fn note(&self, result: Result<(), impl Display>) {
        let what = &self.what;
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match result {
            Err(error) => {
                state.last_failure = Some(now);
                if std::mem::replace(&mut state.down, true) {
                    tracing::debug!(%error, "{what} still failing");
                } else {
                    tracing::warn!(%error, "{what} failing");
                }
            }
            Ok(()) => {
                let quiet = state
                    .last_failure
                    .is_none_or(|at| now.duration_since(at) >= QUIET_BEFORE_BACK);
                if state.down && quiet {
                    state.down = false;
                    tracing::info!("{what} answering again");
                }
            }
        }
    }
}
