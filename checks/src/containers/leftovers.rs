//! Removal of containers (and Docker networks) whose test process is gone.
//!
//! Handles remove their container on drop, but a test process killed by a signal or a CI timeout
//! never drops them. Each container is labelled with its owner's pid; the first container request
//! of every test process removes the checks containers whose owner no longer runs (containers of
//! a concurrently running test process are left alone).

use std::path::Path;
use std::process::Command;
use std::sync::Once;

use super::OWNER_LABEL;

/// Removes (once per process) the checks containers whose owning process has exited, then the
/// networks of several-host checks (`crate::fleet`), which carry the same label.
pub fn remove_leftovers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let containers = orphans(&["ps", "-a"]);
        if !containers.is_empty() {
            eprintln!(
                "stackr-checks: removing {} container(s) left by an earlier, killed run",
                containers.len()
            );
            let _ = Command::new("docker")
                .args(["rm", "-f", "-v"])
                .args(&containers)
                .output();
        }
        for network in orphans(&["network", "ls"]) {
            let _ = Command::new("docker")
                .args(["network", "rm", &network])
                .output();
        }
    });
}

/// The ids `docker <list>` gives of labelled objects whose owning process no longer runs.
fn orphans(list: &[&str]) -> Vec<String> {
    let format = format!("{{{{.ID}}}} {{{{.Label \"{OWNER_LABEL}\"}}}}");
    let Ok(out) = Command::new("docker")
        .args(list)
        .args([
            "--filter",
            &format!("label={OWNER_LABEL}"),
            "--format",
            &format,
        ])
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(_, pid)| !Path::new("/proc").join(pid.trim()).exists())
        .map(|(id, _)| id.to_owned())
        .collect()
}
