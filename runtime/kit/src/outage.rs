//! A dependency that stops answering (a store, auth) is logged when that starts and when it
//! ends, not at every failed use: under traffic, a line per request buries everything else.

use std::fmt::Display;
use std::sync::atomic::{AtomicBool, Ordering};

/// What is known of one dependency: whether its last use failed.
#[derive(Debug)]
pub(crate) struct Outage {
    what: String,
    down: AtomicBool,
}

impl Outage {
    pub(crate) fn new(what: impl Into<String>) -> Self {
        Outage {
            what: what.into(),
            down: AtomicBool::new(false),
        }
    }

    /// Notes one use: a WARN line when it fails after one that did not, an INFO line when it
    /// succeeds after one that failed, DEBUG for another failure.
    pub(crate) fn note(&self, result: Result<(), impl Display>) {
        let what = &self.what;
        let is_down = result.is_err();
        let changed = self.down.swap(is_down, Ordering::Relaxed) != is_down;
        match result {
            Err(error) if changed => tracing::warn!(%error, "{what} failing"),
            Err(error) => tracing::debug!(%error, "{what} still failing"),
            Ok(()) if changed => tracing::info!("{what} answering again"),
            Ok(()) => {}
        }
    }
}
