//! What the developer sees: prefixed log lines, and either a compact live status (one spinner
//! line per process, when stdout is a terminal) or plain one-line status events (CI, pipes,
//! `--no-tui`). Both modes print the same facts, so a CI log tells the same story as a terminal.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::logs::Prefixer;

/// A change in a process's life worth showing.
#[derive(Debug, Clone)]
pub enum Phase {
    Waiting,
    Starting,
    /// Started and has no readiness probe: running is all we will ever know.
    Running,
    Ready {
        after: Duration,
    },
    Restarting {
        restarts: u32,
        code: i32,
    },
    Completed {
        code: i32,
        after: Duration,
    },
    Skipped {
        why: String,
    },
    Stopping,
    Stopped,
}

pub struct Console {
    names: Vec<String>,
    prefixer: Prefixer,
    live: Option<Live>,
    /// One whole line at a time, so lines of different processes never interleave.
    out: Mutex<()>,
}

struct Live {
    multi: MultiProgress,
    bars: Vec<ProgressBar>,
}

impl Console {
    /// `live`: draw spinners (only sensible on a terminal); `colour`: ANSI colours in prefixes.
    pub fn new(names: Vec<String>, live: bool, colour: bool) -> Self {
        let prefixer = Prefixer::new(names.iter().map(String::as_str), colour);
        let live = live.then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
            let style = busy_style();
            let bars = names
                .iter()
                .map(|n| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(style.clone());
                    bar.set_prefix(format!("{n:<w$}", w = prefixer.width));
                    bar.set_message("waiting for dependencies");
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                })
                .collect();
            Live { multi, bars }
        });
        Console {
            names,
            prefixer,
            live,
            out: Mutex::new(()),
        }
    }

    /// Plain output without colours: what tests and CI get.
    pub fn plain(names: Vec<String>) -> Self {
        Console::new(names, false, false)
    }

    fn emit(&self, line: &str) {
        let _guard = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &self.live {
            Some(live) => {
                let _ = live.multi.println(line);
            }
            None => {
                // A closed stdout (e.g. piped into `head`) must not bring the stack down.
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
        }
    }

    /// One line of a process's output.
    pub fn log(&self, index: usize, stderr: bool, text: &str) {
        self.emit(&self.prefixer.line(&self.names[index], stderr, text));
    }

    /// A message of the supervisor itself.
    pub fn note(&self, text: &str) {
        self.emit(&self.prefixer.line("stackr", false, text));
    }

    pub fn warn(&self, text: &str) {
        self.note(&format!("warning: {text}"));
    }

    pub fn phase(&self, index: usize, phase: &Phase) {
        let text = describe(phase);
        match &self.live {
            Some(live) => {
                let bar = &live.bars[index];
                bar.set_message(text);
                if matches!(phase, Phase::Ready { .. } | Phase::Running) {
                    bar.disable_steady_tick();
                    bar.set_style(fixed_style("✔"));
                    bar.tick();
                } else if matches!(phase, Phase::Completed { code: 0, .. }) {
                    bar.set_style(fixed_style("✔"));
                    bar.finish();
                } else if matches!(
                    phase,
                    Phase::Completed { .. } | Phase::Skipped { .. } | Phase::Stopped
                ) {
                    bar.set_style(fixed_style(if matches!(phase, Phase::Stopped) {
                        "■"
                    } else {
                        "✘"
                    }));
                    bar.finish();
                } else {
                    // Starting, restarting, stopping: a spinner and the time spent so far.
                    bar.set_style(busy_style());
                    bar.reset_elapsed();
                    bar.enable_steady_tick(Duration::from_millis(120));
                }
            }
            None => {
                if !matches!(phase, Phase::Waiting) {
                    self.note(&format!("{}: {text}", self.names[index]));
                }
            }
        }
    }

    /// Leaves the final status lines on screen.
    pub fn finish(&self) {
        if let Some(live) = &self.live {
            for bar in &live.bars {
                if !bar.is_finished() {
                    bar.finish();
                }
            }
        }
    }
}

fn busy_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix} {msg} {elapsed:.dim}")
        .expect("static template is valid")
        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ")
}

fn fixed_style(mark: &str) -> ProgressStyle {
    ProgressStyle::with_template(&format!("{mark} {{prefix}} {{wide_msg}}"))
        .expect("static template is valid")
}

/// Seconds with two decimals: what "time to ready" is read in.
pub fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

pub fn describe(phase: &Phase) -> String {
    match phase {
        Phase::Waiting => "waiting for dependencies".into(),
        Phase::Starting => "starting".into(),
        Phase::Running => "running".into(),
        Phase::Ready { after } => format!("ready in {}", secs(*after)),
        Phase::Restarting { restarts, code } => {
            format!(
                "exited with {}, restarting (restart {restarts})",
                exit_text(*code)
            )
        }
        Phase::Completed { code: 0, after } => format!("completed in {}", secs(*after)),
        Phase::Completed { code, after } => {
            format!(
                "failed: exited with {} after {}",
                exit_text(*code),
                secs(*after)
            )
        }
        Phase::Skipped { why } => format!("not started: {why}"),
        Phase::Stopping => "stopping".into(),
        Phase::Stopped => "stopped".into(),
    }
}

/// An exit code as the log shows it: a code above 128 is how a shell reports death by signal
/// (128 + its number, [`crate::process::exit_code`]), which "exited with 137" leaves a developer
/// to decode; the common ones are named, SIGKILL with its usual senders.
pub(crate) fn exit_text(code: i32) -> String {
    let name = match code - 128 {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => return format!("{code} (killed by SIGKILL: `kill -9`, or the out-of-memory killer)"),
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return code.to_string(),
    };
    format!("{code} (killed by {name})")
}

#[cfg(test)]
mod exit_text_tests {
    use super::*;

    #[test]
    fn a_death_by_signal_is_named() {
        let restarting = describe(&Phase::Restarting {
            restarts: 1,
            code: 137,
        });
        assert!(
            restarting.contains("137 (killed by SIGKILL"),
            "{restarting}"
        );
        let failed = describe(&Phase::Completed {
            code: 139,
            after: Duration::from_secs(1),
        });
        assert!(failed.contains("139 (killed by SIGSEGV)"), "{failed}");
        let plain = describe(&Phase::Completed {
            code: 3,
            after: Duration::from_secs(1),
        });
        assert!(plain.contains("exited with 3 after"), "{plain}");
    }
}
