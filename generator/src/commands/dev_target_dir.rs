//! Where the stack's `build` step puts the binaries its APIs and workers run. The generated
//! commands run `${CARGO_TARGET_DIR:-target}/debug/<bin>`, which is right unless a cargo config
//! (`build.target-dir`, in the project's `.cargo/` or the user's `~/.cargo/`) moves the build:
//! then no process would find its binary, or one would run an old one left in `target/`. So
//! `stackr dev` asks cargo where it builds and hands that folder to every process (the Nix dev
//! app, `nix/dev.nix`, does the same in shell). A cargo config's `build.target` (a target
//! triple) still puts them under `<folder>/<triple>/debug`, where no process looks.

use std::path::Path;
use std::process::{Command, Stdio};

/// The variable the generated commands read the folder from.
pub const VAR: &str = "CARGO_TARGET_DIR";

/// The folder cargo builds the project at `root` in, when the environment does not name it
/// already; `None` when cargo cannot say (then `target`, as before).
pub fn for_the_stack(root: &Path) -> Option<String> {
    if std::env::var_os(VAR).is_some() {
        return None;
    }
    let answer = Command::new("cargo")
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    let metadata: serde_json::Value = serde_json::from_slice(&answer.stdout).ok()?;
    metadata["target_directory"].as_str().map(str::to_owned)
}
