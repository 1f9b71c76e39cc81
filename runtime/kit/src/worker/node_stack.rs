//! A job failure's `stacktrace` entry in the format Node BullMQ stores: the error's `err.stack`,
//! a first line `ErrorClass: message` followed by one `    at function (file:line:col)` line per
//! frame, at most ten frames (V8's default `Error.stackTraceLimit`).
//!
//! The frames are those of the Rust stack where the [`JobError`](super::JobError) was created,
//! like a JavaScript error's stack is taken where it is constructed. A build without debug
//! info names the functions only (`    at function`).

use std::backtrace::Backtrace;

/// V8's default `Error.stackTraceLimit`.
const MAX_FRAMES: usize = 10;

/// Frames of the capture machinery itself, skipped: the stack starts where the error was made.
const CAPTURE_FRAMES: &[&str] = &["std::backtrace::", "stackr_kit::worker::error::"];

/// "<class>: <message>" then the frames of `backtrace`, one "    at …" line each.
pub(crate) fn format(class: &str, message: &str, backtrace: &Backtrace) -> String {
    let mut entry = format!("{class}: {message}");
    for frame in frames(&backtrace.to_string()).take(MAX_FRAMES) {
        entry.push_str("\n    at ");
        entry.push_str(&frame);
    }
    entry
}

/// Reads std's backtrace text (`  3: name` lines, each followed by an optional
/// `      at file:line:col` line) into Node's `name (file:line:col)` frames.
fn frames(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut lines = text.lines().map(str::trim).peekable();
    std::iter::from_fn(move || loop {
        let line = lines.next()?;
        let Some((index, name)) = line.split_once(": ") else {
            continue;
        };
        if index.parse::<usize>().is_err() {
            continue;
        }
        let place = lines
            .next_if(|next| next.starts_with("at "))
            .map(|at| at.trim_start_matches("at "));
        let skipped = name == "<unknown>"
            || CAPTURE_FRAMES
                .iter()
                .any(|prefix| name.trim_start_matches('<').starts_with(prefix));
        if skipped {
            continue;
        }
        return Some(match place {
            Some(place) => format!("{name} ({place})"),
            None => name.to_string(),
        });
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_backtrace_text_becomes_node_frames() {
        let text = "   0: std::backtrace::Backtrace::force_capture\n             at /rustc/x/library/std/src/backtrace.rs:312:13\n   1: <stackr_kit::worker::error::JobError as core::convert::From<E>>::from\n             at ./src/worker/error.rs:90:5\n   2: my_service::send_mail::{{closure}}\n             at ./src/mail.rs:12:9\n   3: tokio::runtime::task::raw::poll\n   4: <unknown>\n";
        assert_eq!(
            frames(text).collect::<Vec<_>>(),
            [
                "my_service::send_mail::{{closure}} (./src/mail.rs:12:9)",
                "tokio::runtime::task::raw::poll",
            ]
        );
    }

    #[test]
    fn an_entry_has_the_first_line_and_at_most_ten_frames() {
        let entry = format("Error", "boom", &Backtrace::force_capture());
        let mut lines = entry.lines();
        assert_eq!(lines.next(), Some("Error: boom"));
        let frames: Vec<&str> = lines.collect();
        assert!(!frames.is_empty() && frames.len() <= MAX_FRAMES, "{entry}");
        assert!(frames.iter().all(|f| f.starts_with("    at ")), "{entry}");
        assert!(
            frames[0].contains("an_entry_has_the_first_line_and_at_most_ten_frames"),
            "the first frame is where the stack was taken: {entry}"
        );
    }
}
