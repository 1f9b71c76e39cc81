//! `stackr lint` without the generator: `cargo run -p stackr-lint --example stackr-lint -- [ARGS]`.
//! The real entry point is the generator's `stackr lint` subcommand, which flattens the same
//! [`stackr_lint::Args`] and calls [`stackr_lint::run`].

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "stackr-lint",
    about = "Check a stackr project against its architecture rules"
)]
struct Command {
    #[command(flatten)]
    args: stackr_lint::Args,
}

fn main() -> anyhow::Result<ExitCode> {
    stackr_lint::run(Command::parse().args)
}
