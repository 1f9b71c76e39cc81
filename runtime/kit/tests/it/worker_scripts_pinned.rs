//! The Node bullmq pinned in interop/bullmq must run the very Lua scripts bullmq-official embeds;
//! otherwise the interop tests would compare against a different protocol revision. Fails when
//! either side is bumped alone (the scripts change between bullmq minor versions).

use crate::worker_support;

use std::process::Command;

use serde_json::Value;

#[test]
fn node_bullmq_and_bullmq_official_run_identical_lua_scripts() {
    let dir = worker_support::interop_dir();
    let commands = worker_support::bullmq_official_commands_dir();
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
    assert_eq!(report["node"], stackr_kit::worker::NODE_BULLMQ_VERSION);
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
