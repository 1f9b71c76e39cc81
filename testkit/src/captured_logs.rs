//! What a server under test logs while a test runs, as the binary writes it by default (plain
//! text at `info`, no colour): for checking what a client can make it write.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tracing::subscriber::DefaultGuard;

/// A process-wide subscriber that writes nowhere, installed once, for two reasons:
/// - Libraries logging through the `log` crate (tokio-postgres passes on the server's notices so)
///   reach a binary's log as tracing events: its subscriber, installed with `try_init`, forwards
///   them; this one does the same, so each test's lines go to its own [`CapturedLogs`] only.
/// - While only one dispatcher is registered, tracing works out a log statement's interest, once
///   and for good, from the default of the thread that reaches it first: a statement first
///   reached on another test's thread (which has none) would stay silent here too. With this one
///   registered too, enabled at the level captured, it asks every registered one.
static PROCESS_SUBSCRIBER: OnceLock<()> = OnceLock::new();

/// Collects every line logged on this thread until dropped: under `#[tokio::test]` (one thread),
/// that is everything the servers the test spawned log, and nothing from other tests.
pub struct CapturedLogs {
    out: Arc<Mutex<Vec<u8>>>,
    _guard: DefaultGuard,
}

impl CapturedLogs {
    pub fn start() -> Self {
        PROCESS_SUBSCRIBER.get_or_init(|| {
            use tracing_subscriber::util::SubscriberInitExt;
            // Fails only when the process has a subscriber already, which does both then.
            let _ = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::INFO)
                .with_writer(std::io::sink)
                .finish()
                .try_init();
        });
        let out = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let out = out.clone();
            move || Sink(out.clone())
        };
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(writer)
            .finish();
        CapturedLogs {
            out,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// The lines logged so far at WARN or ERROR: what an operator is asked to look at.
    pub fn alarming(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
            .collect()
    }

    /// The lines logged so far that contain `text`.
    pub fn lines_containing(&self, text: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.contains(text))
            .collect()
    }

    /// The lines logged so far.
    pub fn lines(&self) -> Vec<String> {
        let bytes = self.out.lock().unwrap().clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
