//! A new user's first day, timed step by step: `stackr init` of a three-service project (auth,
//! core, wallet) outside this repository -> first `cargo build` -> edit one handler of core ->
//! `cargo build` again -> `stackr dev` cold start (empty state folder: secrets, one initdb per
//! service) -> stop -> `stackr dev` warm start (nothing changed: its `build` step is cargo's no-op).
//!
//! Run: `cargo bench -p stackr --bench first_day`. Cargo runs as the user's would (the project's own
//! `target/`, incremental on, no flags), offline against the local registry cache, which an
//! untimed `cargo fetch` fills first: the figures are compiling and linking, not downloading.
//! Starts use the embedded supervisor, plain output, and end at its "all N processes ready" line.
//!
//! Targets (an idle 2-core machine): first build <= 5 min; rebuild after the edit <= 20 s; cold
//! start <= 8 s; warm start <= 3 s. Each figure is printed with the load average when its step
//! began: on a shared, busy machine the wall times are longer by about the load over the cores.
//! The builds also print their CPU time (cargo and every compiler and linker it ran), which the
//! load does not stretch: the first build's CPU time over the cores is about its wall time on an
//! idle machine. The stack's build step is also timed on its own before the starts.

// Shared with the integration tests; a bench uses only part of it.
#[allow(dead_code, unused_imports)]
#[path = "../../tests/it/common/mod.rs"]
mod common;
#[path = "../dev_stack/dev_run.rs"]
mod dev_run;
mod project;

use std::time::Duration;

use dev_run::DevRun;
use project::{Build, Project, EDITED};

const FIRST_BUILD_TARGET: Duration = Duration::from_secs(5 * 60);
const REBUILD_TARGET: Duration = Duration::from_secs(20);
const COLD_TARGET: Duration = Duration::from_secs(8);
const WARM_TARGET: Duration = Duration::from_secs(3);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and test discovery
    }
    project::use_user_environment();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get) as u32;
    println!(
        "first day of a new project (auth + core + wallet from `stackr init`, outside the \
         repository); {cores} cores; cargo offline from the local registry cache; at {}",
        git_head()
    );
    let project = Project::init();
    let crates = common::crate_graph::compiled_packages(&project.root).len();
    println!("  crates in the build graph (cargo tree, the project's own included): {crates}");

    let mut verdicts = Vec::new();

    let began = load();
    let first: Build = project.cargo_build();
    verdicts.push(report(
        "first `cargo build`",
        first.took,
        FIRST_BUILD_TARGET,
        &began,
        &format!(
            "; {} crates compiled; CPU time {} (over {cores} cores: {})",
            first.compiled,
            secs(first.cpu),
            secs(first.cpu / cores)
        ),
    ));

    project.edit_handler();
    let began = load();
    let rebuild = project.cargo_build();
    verdicts.push(report(
        &format!("`cargo build` after editing a handler of {EDITED}"),
        rebuild.took,
        REBUILD_TARGET,
        &began,
        &format!(
            "; {} crate(s) compiled; CPU time {}",
            rebuild.compiled,
            secs(rebuild.cpu)
        ),
    ));
    let noop = project.stack_build();
    println!(
        "  the stack's build step with nothing changed (`cargo build --workspace --bins`): {}, \
         CPU time {}; {} crates compiled  (load average {})",
        secs(noop.took),
        secs(noop.cpu),
        noop.compiled,
        load()
    );

    for (what, target) in [
        ("`stackr dev` cold start (empty state)", COLD_TARGET),
        ("`stackr dev` warm start (nothing changed)", WARM_TARGET),
    ] {
        let began = load();
        let mut dev = DevRun::start(&project.root, &[]);
        let ready = dev.wait_ready();
        let build = dev.completion_of("build");
        dev.stop();
        match ready {
            Ok((took, _)) => {
                let build = build.as_deref().map_or("?", |line| {
                    line.split_once("completed in ").map_or(line, |(_, t)| t)
                });
                verdicts.push(report(
                    what,
                    took,
                    target,
                    &began,
                    &format!("; its build step: {build}"),
                ));
            }
            Err(why) => {
                println!("  {what}: NOT MEASURED: {why}");
                verdicts.push(false);
            }
        }
    }
    println!("  load average at the end: {}", load());
    project.remove();
    if verdicts.iter().any(|met| !met) {
        std::process::exit(1);
    }
}

/// Prints one step's figure next to its target; whether it was met.
fn report(what: &str, took: Duration, target: Duration, load: &str, detail: &str) -> bool {
    let met = took <= target;
    println!(
        "  {what}: {}  target <= {}: {}  (load average {load}){detail}",
        secs(took),
        secs(target),
        if met { "met" } else { "MISSED" },
    );
    met
}

/// The commit the bench runs at (`?` outside a git checkout).
fn git_head() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("?".to_owned(), |o| {
            String::from_utf8_lossy(&o.stdout).trim().to_owned()
        })
}

/// The 1-minute load average, to read every wall-clock figure against.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn secs(d: Duration) -> String {
    if d >= Duration::from_secs(60) {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}
