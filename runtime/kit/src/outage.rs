//! A dependency that stops answering (a store, auth) is logged when that starts and when it
//! ends, not at every failed use: under traffic, a line per request buries everything else.
//! While it keeps failing, the current reason is said again once a minute: the first failure's
//! may not be the lasting one (a Redis restarted with a new password first times out the
//! connection it closed, then refuses the old password at every use).

use std::fmt::Display;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a failing dependency must go without a failure before it is logged back. Uses that
/// fail and succeed by turns (a partial outage: auth's database down while its answers that
/// need none still come; or a caller picking requests a peer answers with a 500) would
/// otherwise write a line per use, and log the dependency back between two of its failures.
const QUIET_BEFORE_BACK: Duration = Duration::from_secs(10);

/// How often a dependency that is still failing is said again, with the reason of the moment.
const SAID_AGAIN_AFTER: Duration = Duration::from_secs(60);

/// What is known of one dependency: when it last failed, while it counts as failing (from its
/// first failure until a success [`QUIET_BEFORE_BACK`] after the last one), and when its failing
/// was last said.
#[derive(Debug)]
pub(crate) struct Outage {
    what: String,
    state: Mutex<Option<Failing>>,
}

#[derive(Debug, Clone, Copy)]
struct Failing {
    last_failure: Instant,
    last_said: Instant,
}

impl Outage {
    pub(crate) fn new(what: impl Into<String>) -> Self {
        Outage {
            what: what.into(),
            state: Mutex::default(),
        }
    }

    /// Notes one use: a WARN line when it fails while the dependency was not failing (and again
    /// [`SAID_AGAIN_AFTER`] the last one while it keeps failing), an INFO line when it succeeds
    /// [`QUIET_BEFORE_BACK`] after the last failure, DEBUG for another failure.
    pub(crate) fn note(&self, result: Result<(), impl Display>) {
        self.note_at(Instant::now(), result);
    }

    /// [`Self::note`] of a call's outcome, a failure said with its whole chain of causes.
    pub(crate) fn note_outcome<T, E: std::error::Error + 'static>(&self, outcome: &Result<T, E>) {
        self.note(
            outcome
                .as_ref()
                .map(|_| ())
                .map_err(|e| stackr_tls::refusal::log_line(e)),
        );
    }

    fn note_at(&self, now: Instant, result: Result<(), impl Display>) {
        let what = &self.what;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match (result, *state) {
            (Err(error), failing) => {
                let last_said = match failing {
                    None => {
                        tracing::warn!(%error, "{what} failing");
                        now
                    }
                    Some(f) if now.duration_since(f.last_said) >= SAID_AGAIN_AFTER => {
                        tracing::warn!(%error, "{what} still failing");
                        now
                    }
                    Some(f) => {
                        tracing::debug!(%error, "{what} still failing");
                        f.last_said
                    }
                };
                *state = Some(Failing {
                    last_failure: now,
                    last_said,
                });
            }
            (Ok(()), Some(failing))
                if now.duration_since(failing.last_failure) >= QUIET_BEFORE_BACK =>
            {
                *state = None;
                tracing::info!("{what} answering again");
            }
            (Ok(()), _) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failure that lasts is said when it starts, then once a minute with the reason of the
    /// moment, and the dependency's return once.
    #[test]
    fn a_lasting_failure_is_said_again_each_minute_with_its_reason_then() {
        let logs = stackr_testkit::CapturedLogs::start();
        let outage = Outage::new("redis");
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        outage.note_at(at(0), Err("timed out"));
        outage.note_at(at(30), Err("WRONGPASS"));
        outage.note_at(at(59), Err("WRONGPASS"));
        outage.note_at(at(60), Err("WRONGPASS"));
        outage.note_at(at(90), Err("WRONGPASS"));
        outage.note_at(at(121), Err("WRONGPASS"));
        outage.note_at(at(140), Ok::<(), &str>(()));
        let said: Vec<String> = logs
            .alarming()
            .iter()
            .chain(
                logs.lines()
                    .iter()
                    .filter(|l| l.contains("answering again")),
            )
            .map(|l| {
                l.split_once(": ")
                    .map_or(l.clone(), |(_, rest)| rest.to_owned())
            })
            .collect();
        assert_eq!(
            said,
            [
                "redis failing error=timed out",
                "redis still failing error=WRONGPASS",
                "redis still failing error=WRONGPASS",
                "redis answering again",
            ],
            "{:#?}",
            logs.lines()
        );
    }
}
