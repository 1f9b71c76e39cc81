//! `scripts/demo.sh`, the README's first command, with cargo's target folder moved by
//! `CARGO_TARGET_DIR` (a shared or out-of-tree target is common): the stackr it runs, and the one
//! its hints name, must be the binary cargo just built there, not a `target/` beside the sources.

use std::process::Command;

use crate::common::local_build::{in_shared_target, repo_root, shared_target};

#[test]
fn demo_script_runs_the_stackr_built_in_cargo_target_dir() {
    // The shared target folder under another name: the workspace's binaries are already built
    // there, and a `target/` beside the sources (which may exist) is not where this one points.
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("moved-target");
    std::os::unix::fs::symlink(shared_target(), &target).unwrap();

    // `--help` goes through to `stackr dev`, which prints it and exits without starting a stack.
    let run = in_shared_target(Command::new(repo_root().join("scripts/demo.sh")))
        .arg("--help")
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "demo.sh failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("Run the dev stack"),
        "demo.sh did not run `stackr dev`:\n{stdout}\n{stderr}"
    );
    let hint = format!("{}/debug/stackr set-role", target.display());
    assert!(
        stdout.contains(&hint),
        "demo.sh's set-role hint does not name the binary it built ({hint}):\n{stdout}"
    );
}
