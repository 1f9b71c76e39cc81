//! A dependency that stops answering (a store, auth), or work a process refuses while it is at its
//! bound, is logged when that starts and when it ends, not at every failed use: under traffic, a
//! line per request buries everything else. Here for the kit and auth alike.
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
pub const QUIET_BEFORE_BACK: Duration = Duration::from_secs(10);

/// How often a dependency that is still failing is said again, with the reason of the moment.
pub const SAID_AGAIN_AFTER: Duration = Duration::from_secs(60);

/// What is known of one dependency: when it last failed, while it counts as failing (from its
/// first failure until a success [`QUIET_BEFORE_BACK`] after the last one), and when its failing
/// was last said.
#[derive(Debug)]
pub struct Outage {
    what: String,
    state: Mutex<Option<Failing>>,
}

#[derive(Debug, Clone, Copy)]
struct Failing {
    last_failure: Instant,
    last_said: Instant,
}

impl Outage {
    pub fn new(what: impl Into<String>) -> Self {
        Outage {
            what: what.into(),
            state: Mutex::default(),
        }
    }

    /// Notes one use: a WARN line when it fails while the dependency was not failing (and again
    /// [`SAID_AGAIN_AFTER`] the last one while it keeps failing), an INFO line when it succeeds
    /// [`QUIET_BEFORE_BACK`] after the last failure, DEBUG for another failure.
    pub fn note(&self, result: Result<(), impl Display>) {
        self.note_at(Instant::now(), result);
    }

    /// [`Self::note`] of a call's outcome, a failure said with its whole chain of causes.
    pub fn note_outcome<T, E: std::error::Error + 'static>(&self, outcome: &Result<T, E>) {
        self.note(
            outcome
                .as_ref()
                .map(|_| ())
                .map_err(|e| crate::refusal::log_line(e)),
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
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A failure that lasts is said when it starts, then once a minute with the reason of the
    /// moment, and the dependency's return once.
    #[test]
    fn a_lasting_failure_is_said_again_each_minute_with_its_reason_then() {
        let said = said_while(|| {
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
        });
        assert_eq!(
            said,
            [
                "WARN redis failing error=timed out",
                "WARN redis still failing error=WRONGPASS",
                "WARN redis still failing error=WRONGPASS",
                "INFO redis answering again",
            ]
        );
    }

    /// The lines logged at INFO and above while `f` runs, each as its level and message.
    fn said_while(f: impl FnOnce()) -> Vec<String> {
        let out = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let out = out.clone();
            move || Sink(out.clone())
        };
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .with_writer(writer)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let out = out.lock().unwrap();
        String::from_utf8_lossy(&out)
            .lines()
            .map(|l| l.trim().to_owned())
            .collect()
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
