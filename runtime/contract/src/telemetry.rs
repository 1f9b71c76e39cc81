//! How every runtime process (auth, a service's API and worker) logs: through `tracing`, filtered
//! by `RUST_LOG` (default `info`), to stderr (process-compose and journald capture it), one JSON
//! object per line with `LOG_FORMAT=json` (for log shippers), in colour only for a human at a
//! terminal who has not set `NO_COLOR`. Each event is one line: a line break inside one (a value
//! a library logs as it came, such as a job id its adder chose) is written `\n`, and its other
//! control characters as escapes (`\x1b`).

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Targets held at a level whatever `RUST_LOG` says. bullmq-official logs the Redis URL it
/// connected to at debug, hiding only a password in the URL's user information: a Unix socket's
/// URL (`redis+unix://…?pass=…`) carries it in the query, which that line would show.
const HELD_TARGETS: &[&str] = &["bullmq=info"];

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init() {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(OneLinePerEvent(std::io::stderr, colour))
        .with_ansi(colour);
    let _ = if std::env::var(crate::env::LOG_FORMAT).as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Writes each event on one line, with no control character of a value in it. The plain-text
/// format writes a field's `Display` as it is (`job_id = %id`, which libraries such as
/// bullmq-official use): a line break in a value someone else chose would start a line of the log
/// that no event wrote, an escape sequence would act on the terminal showing the log. The
/// formatter hands over each event whole, ending in its one line break, in a single write.
struct OneLinePerEvent<M>(M, bool);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for OneLinePerEvent<M> {
    type Writer = EscapedBreaks<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapedBreaks(self.0.make_writer(), self.1)
    }
}

/// The writer, and whether the log is in colour.
struct EscapedBreaks<W>(W, bool);

/// Whether `c`, inside an event, is written out as an escape: every control character (a line
/// break; an escape sequence, which would move a terminal's cursor or clear its screen; a NEL)
/// and the Unicode line and paragraph separators, which some log viewers break lines at. A tab
/// stays, and so does ESC in colour, where the formatter writes its own sequences.
fn written_out(c: char, colour: bool) -> bool {
    (c.is_control() && c != '\t' && !(colour && c == '\x1b'))
        || matches!(c, '\u{2028}' | '\u{2029}')
}

impl<W: Write> Write for EscapedBreaks<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let (event, end) = match buf.strip_suffix(b"\n") {
            Some(event) => (event, "\n"),
            None => (buf, ""),
        };
        let colour = self.1;
        // The formatter writes text (from a `String`): a lossy reading changes nothing of it.
        let text = String::from_utf8_lossy(event);
        if !text.chars().any(|c| written_out(c, colour)) {
            self.0.write_all(buf)?;
            return Ok(buf.len());
        }
        let mut line = String::with_capacity(text.len() + 16);
        for c in text.chars() {
            match c {
                c if !written_out(c, colour) => line.push(c),
                '\n' => line.push_str("\\n"),
                '\r' => line.push_str("\\r"),
                c if c.is_ascii() => line.push_str(&format!("\\x{:02x}", u32::from(c))),
                c => line.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            }
        }
        line.push_str(end);
        self.0.write_all(line.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// `RUST_LOG`'s filter (`info` when unset or unreadable), with [`HELD_TARGETS`] on top.
fn filter(rust_log: Option<&str>) -> EnvFilter {
    let from_env = rust_log.and_then(|value| EnvFilter::try_new(value).ok());
    HELD_TARGETS.iter().fold(
        from_env.unwrap_or_else(|| EnvFilter::new("info")),
        |filter, held| filter.add_directive(held.parse().expect("a valid directive")),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    /// What a subscriber with `filter(rust_log)` writes for one debug event of each target.
    fn logged(rust_log: &str, targets: [&str; 2]) -> String {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = {
            let out = out.clone();
            move || Sink(out.clone())
        };
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(super::filter(Some(rust_log)))
            .with_writer(writer)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "bullmq::redis_connection", url = targets[0], "redis connection established");
            tracing::debug!(target: "stackr_kit::worker", url = targets[1], "connected");
        });
        let bytes = out.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
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

    #[test]
    fn an_event_is_one_line_whatever_its_values_hold() {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = {
            let out = out.clone();
            super::OneLinePerEvent(move || Sink(out.clone()), false)
        };
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(writer)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let id = "x\r\n2030-01-01T00:00:00Z  INFO forged";
            tracing::error!(job_id = %id, "failed to move job");
            tracing::info!("next");
        });
        let out = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(
            lines[0].contains("job_id=x\\r\\n2030-01-01T00:00:00Z  INFO forged"),
            "{out}"
        );
        assert!(out.ends_with("next\n"), "{out}");
    }

    /// What a subscriber writes through `OneLinePerEvent` for an error whose field holds `value`.
    fn one_event(value: &str, colour: bool) -> String {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = {
            let out = out.clone();
            super::OneLinePerEvent(move || Sink(out.clone()), colour)
        };
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(colour)
            .with_writer(writer)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(job_id = %value, "failed to move job");
        });
        let out = out.lock().unwrap().clone();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_value_writes_no_control_character_into_the_log() {
        let value = "x\x1b[2Jy\x0bz\u{2028}w\u{85}v\x7f";
        let out = one_event(value, false);
        assert!(
            out.contains("job_id=x\\x1b[2Jy\\x0bz\\u{2028}w\\u{85}v\\x7f"),
            "{out:?}"
        );
        let body = out.strip_suffix('\n').expect(&out);
        assert!(
            !body
                .chars()
                .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')),
            "{out:?}"
        );
        // In colour, the formatter's own escape sequences stay; a value's other controls do not.
        let out = one_event("y\x0bz", true);
        assert!(out.contains('\x1b'), "{out:?}");
        assert!(out.contains("y\\x0bz"), "{out:?}");
    }

    #[test]
    fn bullmqs_debug_lines_stay_out_even_when_everything_else_logs_at_debug() {
        for rust_log in ["debug", "bullmq=debug", "trace,bullmq=trace"] {
            let out = logged(
                rust_log,
                ["redis+unix:///run/r.sock?pass=SECRET", "kit-line"],
            );
            assert!(!out.contains("SECRET"), "RUST_LOG={rust_log}: {out}");
            if rust_log != "bullmq=debug" {
                assert!(out.contains("kit-line"), "RUST_LOG={rust_log}: {out}");
            }
        }
    }
}
