//! Running `cargo` from inside a test without rebuilding the workspace.

use std::process::Command;

/// Removes the variables `cargo test` sets for the package under test (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_NAME`, …) from what `command` inherits. Some build scripts (ring's, for one) declare
/// they depend on these, so a `cargo build` started from a test with them set reruns those scripts
/// and recompiles everything above them, although nothing changed.
pub fn without_cargo_package_env(command: &mut Command) -> &mut Command {
    let per_package = |name: &str| {
        [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
            || [
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
            ]
            .contains(&name)
    };
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(per_package) {
            command.env_remove(name);
        }
    }
    command
}
