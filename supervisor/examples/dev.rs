//! `stackr dev` without the rest of stackr, for trying the supervisor by hand:
//! `cargo run -p stackr-supervisor --example dev -- -f path/to/process-compose.yaml [--no-tui]`.
//! Always uses the embedded supervisor (it is what this crate is about).

use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    dev: stackr_supervisor::DevArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let cwd = std::env::current_dir().expect("a current directory");
    let opts = cli.dev.into_options(&cwd);
    match stackr_supervisor::run(&opts) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
