//! Start-up time of a dev stack under the embedded supervisor: from launching the supervisor to
//! "all processes ready", for
//!
//! 1. the two-service fixture stack (real PostgreSQL and Redis per service, as `stackr generate`
//!    lays them out, with a stand-in API), and
//! 2. the repo's own demo stack, its generated `process-compose.yaml` (auth, core and wallet, each
//!    with PostgreSQL, Redis, API and worker, plus the `secrets` and `build` one-shots), run in
//!    a temporary mirror of the project root so the developer's `.stackr/` is never touched (see
//!    `demo/mod.rs`). The service binaries are built once, untimed, before the first start; the
//!    `build` one-shot (`cargo build --workspace --bins`, then a no-op) stays in the timed window,
//!    as in a developer's warm start, and its own duration is printed.
//!
//! - cold: empty state folder (deleted by the benchmark before the run, untimed), so every
//!   PostgreSQL cluster is created by initdb (and the demo's dev secrets are created);
//! - warm: the state folder of the previous run is reused.
//!
//! Targets (2-core machine, for the demo stack): warm < 3 s, cold < 8 s; the fixture is
//! held to the same. Every start is stopped with SIGINT and must leave no process behind. Run
//! with `cargo bench -p stackr-supervisor --bench startup`.

// Shared with the integration tests; a bench uses only part of it.
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/common/mod.rs"]
mod common;

use common::demo_stack as demo;

use std::time::{Duration, Instant};

use common::two_services::{Project, PROCESS_COUNT};
use common::Supervised;

const COLD_RUNS: usize = 3;
const WARM_RUNS: usize = 3;
const WARM_TARGET: Duration = Duration::from_secs(3);
const COLD_TARGET: Duration = Duration::from_secs(8);

fn main() {
    // When re-executed as the supervisor under test, this runs it and exits.
    common::child_entry();
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and test discovery
    }

    common::ECHO.store(false, std::sync::atomic::Ordering::Relaxed);
    demo::forget_cargo_run_env();

    // Each part runs on its own: a failed part (its panic is printed above) is reported as not
    // measured and fails the benchmark, but does not keep the other part from being measured.
    let mut verdicts = Vec::new();
    let mut failed = Vec::new();
    for (name, part) in [
        ("two-service fixture", measure_fixture as fn() -> Vec<bool>),
        ("demo stack", measure_demo),
    ] {
        match std::panic::catch_unwind(part) {
            Ok(v) => verdicts.extend(v),
            Err(_) => {
                println!("{name}: NOT MEASURED (it failed, see the panic above)");
                failed.push(name);
            }
        }
    }
    let missed = verdicts.iter().filter(|ok| !**ok).count();
    if missed == 0 {
        println!("{} of {} targets met", verdicts.len(), verdicts.len());
    } else {
        println!("{missed} of {} targets MISSED (see above)", verdicts.len());
    }
    if !failed.is_empty() {
        println!("not measured: {}", failed.join(", "));
        std::process::exit(1);
    }
}

/// The two-service fixture: cold and warm starts, then their report.
fn measure_fixture() -> Vec<bool> {
    let load_before = load_average();
    let project = Project::new("bench");
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..COLD_RUNS {
        let state = project.dir.path().join(".stackr");
        if state.exists() {
            std::fs::remove_dir_all(&state).expect("wipe the state folder");
        }
        cold.push(start_until_ready(&project));
    }
    for _ in 0..WARM_RUNS {
        warm.push(start_until_ready(&project));
    }
    drop(project);

    println!(
        "stackr dev start-up, wall time from launch to all ready, {PROCESS_COUNT} processes \
         (2 services: PostgreSQL, Redis, API each; load average at start: {load_before}):"
    );
    vec![
        report("fixture cold (empty state)", &cold, COLD_TARGET),
        report("fixture warm (state reused)", &warm, WARM_TARGET),
    ]
}

/// The repo's demo stack: cold and warm starts, then their report.
fn measure_demo() -> Vec<bool> {
    let demo = demo::DemoProject::new();
    let demo_load = load_average();
    let mut demo_cold = Vec::new();
    let mut demo_warm = Vec::new();
    for i in 0..COLD_RUNS {
        demo.wipe_state();
        let load = load_average();
        let run = demo.start_until_ready();
        print_demo_run(&format!("cold {}", i + 1), &run, &load);
        demo_cold.push(run);
    }
    for i in 0..WARM_RUNS {
        let load = load_average();
        let run = demo.start_until_ready();
        print_demo_run(&format!("warm {}", i + 1), &run, &load);
        demo_warm.push(run);
    }
    let process_count = demo.process_count;
    drop(demo);

    println!(
        "demo stack (repo's process-compose.yaml: auth, core, wallet), wall time from launch to \
         all {process_count} processes ready, binaries prebuilt, `build` (no-op cargo build) \
         included (load average at start: {demo_load}; {} cores):",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    let walls = |runs: &[demo::DemoRun]| runs.iter().map(|r| r.wall).collect::<Vec<_>>();
    let cold_ok = report("demo cold (empty state)", &walls(&demo_cold), COLD_TARGET);
    print_build(&demo_cold);
    let warm_ok = report("demo warm (state reused)", &walls(&demo_warm), WARM_TARGET);
    print_build(&demo_warm);
    vec![cold_ok, warm_ok]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split(' ')
        .next()
        .unwrap_or("?")
        .to_owned()
}

/// One line per demo start: the figures, where the `build` one-shot was, and the last processes
/// to become ready (the tail of the critical path).
fn print_demo_run(what: &str, run: &demo::DemoRun, load: &str) {
    let build = match (&run.build_took, run.build_done_at) {
        (Some(took), Some(at)) => format!("build took {took}, done at {:.2}s", at.as_secs_f64()),
        _ => "build: no completion line".to_owned(),
    };
    let last: Vec<String> = run
        .timeline
        .iter()
        .filter(|(_, l)| l.contains(": ready in ") || l.contains(": completed in "))
        .rev()
        .take(3)
        .map(|(at, l)| format!("{} @{:.2}s", l, at.as_secs_f64()))
        .collect();
    // The single longest step (a process's own "ready in"/"completed in" time).
    let longest = run
        .timeline
        .iter()
        .filter_map(|(_, l)| {
            let (name, rest) = l.split_once(": ")?;
            let secs = rest
                .strip_prefix("ready in ")
                .or_else(|| rest.strip_prefix("completed in "))?;
            Some((secs.trim_end_matches('s').parse::<f64>().ok()?, name, rest))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map_or("?".to_owned(), |(_, name, rest)| format!("{name} {rest}"));
    eprintln!(
        "  demo {what}: all ready after {:.2}s wall (supervisor: {}); {build}{}{}; longest step: \
         {longest}; last ready: {} (load {load})",
        run.wall.as_secs_f64(),
        run.reported,
        if run.build_blocked {
            " (BLOCKED on another cargo's lock)"
        } else {
            ""
        },
        if run.restarts > 0 {
            format!("; {} restart(s)", run.restarts)
        } else {
            String::new()
        },
        last.into_iter().rev().collect::<Vec<_>>().join(", ")
    );
}

fn print_build(runs: &[demo::DemoRun]) {
    let took: Vec<String> = runs
        .iter()
        .map(|r| r.build_took.clone().unwrap_or_else(|| "?".into()))
        .collect();
    let done: Vec<String> = runs
        .iter()
        .map(|r| {
            r.build_done_at
                .map_or("?".into(), |d| format!("{:.2}s", d.as_secs_f64()))
        })
        .collect();
    println!(
        "    of which `build` ran [{}], completed at [{}] after launch{}",
        took.join(", "),
        done.join(", "),
        if runs.iter().any(|r| r.build_blocked) {
            " (some runs waited for another cargo's lock on the target folder)"
        } else {
            ""
        }
    );
}

/// Starts the stack, returns the time until the supervisor reported every process ready, then
/// stops it with SIGINT (as Ctrl-C would) and checks that it left nothing behind.
fn start_until_ready(project: &Project) -> Duration {
    let launched = Instant::now();
    let mut sup: Supervised = {
        let env = project_env(project);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Supervised::start(&project.file(), &[], &env)
    };
    let line = sup.wait_for_line(
        &format!("all {PROCESS_COUNT} processes ready"),
        Duration::from_secs(120),
    );
    let took = launched.elapsed();
    eprintln!("  {line}  (wall {:.2}s from launch)", took.as_secs_f64());
    sup.signal(libc::SIGINT);
    let code = sup.wait(Duration::from_secs(60));
    assert_eq!(code, 0, "the stack stops cleanly");
    let left = project.leftovers();
    assert!(left.is_empty(), "processes left behind: {left:?}");
    took
}

fn project_env(project: &Project) -> Vec<(String, String)> {
    project.env_vars()
}

/// Prints median and runs against the target; returns whether the median meets it.
fn report(what: &str, runs: &[Duration], target: Duration) -> bool {
    let mut sorted = runs.to_vec();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    let all: Vec<String> = runs
        .iter()
        .map(|d| format!("{:.2}s", d.as_secs_f64()))
        .collect();
    let ok = median < target;
    println!(
        "  {what:<28} median {:.2}s  runs [{}]  target < {}s: {}",
        median.as_secs_f64(),
        all.join(", "),
        target.as_secs(),
        if ok { "PASS" } else { "MISS" }
    );
    ok
}
