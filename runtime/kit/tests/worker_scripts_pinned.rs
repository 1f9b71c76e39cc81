//! The Node bullmq pinned in interop/bullmq must run the very Lua scripts bullmq-official embeds;
//! otherwise the interop tests would compare against a different protocol revision. Fails when
//! either side is bumped alone (the scripts change between bullmq minor versions).

mod worker_support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// `src/commands` of the bullmq-official crate this package resolved, found via cargo metadata.
fn crate_commands_dir() -> PathBuf {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let package = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "bullmq-official")
        .expect("bullmq-official in the dependency graph");
    PathBuf::from(package["manifest_path"].as_str().unwrap())
        .parent()
        .unwrap()
        .join("src/commands")
}

#[test]
fn node_bullmq_and_bullmq_official_run_identical_lua_scripts() {
    let dir = worker_support::interop_dir();
    let commands = crate_commands_dir();
    let output = Command::new("node")
        .arg(dir.join("compare_scripts.js"))
        .arg(&commands)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["node"], "6.5.1");
    for field in ["different", "onlyNode", "onlyRust"] {
        assert_eq!(report[field], Value::Array(vec![]), "{field}: {report:#}");
    }
    let same = report["same"].as_array().unwrap();
    assert!(
        same.len() >= 60,
        "only {} scripts compared: {report:#}",
        same.len()
    );
    assert!(same.iter().any(|s| s == "moveToFinished-14.lua"));
}
