//! Where get-session's time goes: cumulative wall time per phase of the handler, for the
//! get_session bench (`benches/get_session.rs` prints the breakdown next to its figures).
//!
//! Off unless `AUTH_PHASE_TIMINGS_FILE` names a file at start-up: then every 100 ms the totals
//! are written there as one line, `requests verify_ns queue_ns query_ns refresh_ns body_ns`,
//! and the bench reads it before and after each run. Off, a phase costs one relaxed atomic load.
//! Nothing in the file is secret: counters only.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The environment variable naming the file (a diagnostic of this crate, not of the contract).
pub const FILE_VAR: &str = "AUTH_PHASE_TIMINGS_FILE";

/// The phases of a get-session, in the file's column order. A session-cache hit ends after
/// `Verify`, so with the cache on the later phases average in its zeros.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Finding the cookie and checking its HMAC signature.
    Verify,
    /// Waiting for the batch it joins to be sent (see `db::session_reads`).
    Queue,
    /// The session + user query, round trip included.
    Query,
    /// The sliding-refresh `update` (only when `updateAge` has passed).
    Refresh,
    /// Building and serializing the JSON body.
    Body,
}

const PHASES: usize = 5;

/// The phases' names, in the file's column order.
pub const PHASE_NAMES: [&str; PHASES] = ["verify", "queue", "query", "refresh", "body"];

/// One reading of the file: verified get-sessions and nanoseconds per phase, since start-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub requests: u64,
    pub ns: [u64; PHASES],
}

impl Totals {
    /// Parses a line of the file; `None` when it is not one.
    pub fn parse(line: &str) -> Option<Totals> {
        let mut numbers = line.split_whitespace().map(|n| n.parse::<u64>().ok());
        let requests = numbers.next()??;
        let mut ns = [0; PHASES];
        for slot in &mut ns {
            *slot = numbers.next()??;
        }
        Some(Totals { requests, ns })
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Totals) -> Totals {
        let mut ns = [0; PHASES];
        for (i, slot) in ns.iter_mut().enumerate() {
            *slot = self.ns[i].saturating_sub(earlier.ns[i]);
        }
        Totals {
            requests: self.requests.saturating_sub(earlier.requests),
            ns,
        }
    }

    /// Mean microseconds per verified get-session of each phase.
    pub fn micros_per_request(&self) -> [f64; PHASES] {
        self.ns
            .map(|ns| ns as f64 / 1000.0 / self.requests.max(1) as f64)
    }
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static REQUESTS: AtomicU64 = AtomicU64::new(0);
static TOTALS_NS: [AtomicU64; PHASES] = [const { AtomicU64::new(0) }; PHASES];

/// A running measurement: `None` when timings are off, so nothing reads the clock.
pub fn start() -> Option<Instant> {
    ENABLED.load(Ordering::Relaxed).then(Instant::now)
}

/// Adds the time since `since` to `phase` and returns a new start for the next phase.
pub fn end(phase: Phase, since: Option<Instant>) -> Option<Instant> {
    split(phase, Some(since?), Instant::now())
}

/// Adds the time from `since` to `at` to `phase` and returns `at` as the next phase's start.
pub fn split(phase: Phase, since: Option<Instant>, at: Instant) -> Option<Instant> {
    let since = since?;
    let ns = u64::try_from(at.saturating_duration_since(since).as_nanos()).unwrap_or(u64::MAX);
    TOTALS_NS[phase as usize].fetch_add(ns, Ordering::Relaxed);
    Some(at)
}

/// Counts one get-session whose cookie verified.
pub fn count_request() {
    if ENABLED.load(Ordering::Relaxed) {
        REQUESTS.fetch_add(1, Ordering::Relaxed);
    }
}

fn line() -> String {
    let mut s = REQUESTS.load(Ordering::Relaxed).to_string();
    for total in &TOTALS_NS {
        s.push(' ');
        s.push_str(&total.load(Ordering::Relaxed).to_string());
    }
    s.push('\n');
    s
}

/// Turns timings on when `AUTH_PHASE_TIMINGS_FILE` is set, and writes the file every 100 ms.
/// Call once, inside the runtime.
pub fn start_from_env() {
    let Some(path) = std::env::var_os(FILE_VAR).map(PathBuf::from) else {
        return;
    };
    ENABLED.store(true, Ordering::Relaxed);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            // Written aside then renamed, so a reader never sees half a line.
            let partial = path.with_extension("partial");
            if std::fs::write(&partial, line()).is_ok() {
                let _ = std::fs::rename(&partial, &path);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_parses_back_and_differences_per_request() {
        let before = Totals::parse("2 10 20 30 0 40\n").unwrap();
        let after = Totals::parse("4 2010 4020 6030 0 8040").unwrap();
        let run = after.since(&before);
        assert_eq!(run.requests, 2);
        assert_eq!(run.micros_per_request(), [1.0, 2.0, 3.0, 0.0, 4.0]);
        assert_eq!(Totals::parse("1 2 3"), None);
    }

    #[test]
    fn off_by_default_and_nothing_is_recorded() {
        assert_eq!(start(), None);
        assert_eq!(end(Phase::Query, None), None);
        count_request();
        assert!(line().starts_with("0 "));
    }
}
