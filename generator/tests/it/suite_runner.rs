//! `scripts/run-suites.py`, which `scripts/test.sh` runs every suite with: a suite that hangs
//! (a test waiting on a connection whose packets are dropped) is stopped at the time limit and
//! reported failed, naming the limit, and the other suites' verdicts still come, where the whole
//! test command used to wait for ever. Run from a copy of the script, so its logs and timings land
//! in a folder of the test's own.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::local_build::repo_root;

#[test]
fn a_hanging_suite_is_stopped_at_the_time_limit_and_reported() {
    let copy = tempfile::tempdir().unwrap();
    std::fs::create_dir(copy.path().join("scripts")).unwrap();
    let script = copy.path().join("scripts/run-suites.py");
    std::fs::copy(repo_root().join("scripts/run-suites.py"), &script).unwrap();
    let no_binaries = copy.path().join("cargo-build.json");
    std::fs::write(&no_binaries, "").unwrap();
    let started = Instant::now();
    let run = Command::new("python3")
        .arg(&script)
        .arg(&no_binaries)
        .args(["quick=true", "hanging=sleep 600"])
        .env("STACKR_SUITE_TIME_LIMIT", "3")
        .output()
        .unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{stdout}");
    assert!(took < Duration::from_secs(60), "took {took:?}:\n{stdout}");
    assert!(stdout.contains("quick: ok"), "{stdout}");
    assert!(
        stdout.contains("hanging: FAILED (stopped after the 3 s time limit)"),
        "{stdout}"
    );
}
