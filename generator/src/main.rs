use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    stackr::cli::run(stackr::cli::Cli::parse())
}
