use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = stackr::cli::Cli::parse();
    if !cli.runs_a_stack() {
        // A reader that leaves early (`stackr generate | head`) ends a report quietly, as with
        // any Unix tool; Rust's runtime ignores SIGPIPE, and printing then panics. `stackr dev`
        // keeps ignoring it: a closed output must not kill the supervisor before its ordered
        // shutdown.
        // SAFETY: called before any other thread exists; SIG_DFL is a valid disposition.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    stackr::cli::run(cli)
}
