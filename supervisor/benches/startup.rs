//! Start-up time of a dev stack under the embedded supervisor: from launching the supervisor to
//! "all processes ready", for the two-service fixture stack (real PostgreSQL and Redis per
//! service, as `stackr generate` lays them out).
//!
//! - cold: empty state folder (deleted by the benchmark before the run, untimed), so both
//!   PostgreSQL clusters are created by initdb;
//! - warm: the state folder of the previous run is reused.
//!
//! Targets (issue 6, 2-core machine): warm < 3 s, cold < 8 s. Run with
//! `cargo bench -p stackr-supervisor --bench startup`.

#[path = "../tests/common/mod.rs"]
mod common;

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

    println!(
        "stackr dev start-up, wall time from launch to all ready, {PROCESS_COUNT} processes \
         (2 services: PostgreSQL, Redis, API each; load average at start: {}):",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split(' ')
            .next()
            .unwrap_or("?")
    );
    report("cold (empty state, initdb)", &cold, COLD_TARGET);
    report("warm (state reused)", &warm, WARM_TARGET);
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

fn report(what: &str, runs: &[Duration], target: Duration) {
    let mut sorted = runs.to_vec();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    let all: Vec<String> = runs
        .iter()
        .map(|d| format!("{:.2}s", d.as_secs_f64()))
        .collect();
    let verdict = if median < target { "meets" } else { "MISSES" };
    println!(
        "  {what:<28} median {:.2}s  runs [{}]  target < {}s: {verdict}",
        median.as_secs_f64(),
        all.join(", "),
        target.as_secs()
    );
}
