//! The crates a generated project makes cargo compile, as `cargo tree` resolves them.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The distinct packages (`name vX.Y.Z`, the project's own included) `cargo build --workspace`
/// compiles in the project at `root`: normal and build dependencies on this host, resolved
/// offline from the local registry cache.
pub fn compiled_packages(root: &Path) -> BTreeSet<String> {
    let mut command = Command::new("cargo");
    stackr_testkit::without_cargo_package_env(&mut command);
    let tree = command
        .current_dir(root)
        .env("CARGO_NET_OFFLINE", "true")
        .args([
            "tree",
            "--workspace",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .expect("running cargo tree");
    assert!(
        tree.status.success(),
        "cargo tree failed:\n{}",
        super::stderr(&tree)
    );
    super::stdout(&tree)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some(format!("{} {}", words.next()?, words.next()?))
        })
        .collect()
}
