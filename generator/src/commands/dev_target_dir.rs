//! Where the stack's `build` step puts the binaries its APIs and workers run. The generated
//! commands run `${CARGO_TARGET_DIR:-target}/debug/<bin>`, which is right unless a cargo config
//! (`build.target-dir`, in the project's `.cargo/` or the user's `~/.cargo/`) moves the build:
//! then no process would find its binary, or one would run an old one left in `target/`. So
//! `stackr dev` asks cargo where it builds and hands that folder to every process (the Nix dev
//! app, `nix/dev.nix`, does the same in shell). A cargo config's `build.target` (a target
//! triple) still puts them under `<folder>/<triple>/debug`, where no process looks.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The variable the generated commands read the folder from.
pub const VAR: &str = "CARGO_TARGET_DIR";

/// How long `cargo metadata` may take before `stackr dev` says it waits for it: it answers in
/// milliseconds, unless rustup first installs the project's toolchain (minutes on a fresh
/// machine, which rustup is left to finish).
const QUIET_WAIT: Duration = Duration::from_secs(2);

/// The folder cargo builds the project at `root` in, when the environment does not name it
/// already; `None` when cargo cannot say (then `target`, as before).
pub fn for_the_stack(root: &Path) -> Option<String> {
    if std::env::var_os(VAR).is_some() {
        return None;
    }
    let mut cargo = Command::new("cargo")
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Read beside the wait: an answer larger than the pipe holds would otherwise stall cargo.
    let mut stdout = cargo.stdout.take()?;
    let answer = std::thread::spawn(move || {
        let mut answer = Vec::new();
        stdout.read_to_end(&mut answer).map(|_| answer)
    });
    let started = Instant::now();
    let mut said = false;
    let status = loop {
        if let Some(status) = cargo.try_wait().ok()? {
            break status;
        }
        if !said && started.elapsed() >= QUIET_WAIT {
            eprintln!(
                "stackr dev: waiting for `cargo metadata` (where cargo builds the services; rustup may be installing the project's toolchain)"
            );
            said = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let answer = answer.join().ok()?.ok()?;
    if !status.success() {
        return None;
    }
    let metadata: serde_json::Value = serde_json::from_slice(&answer).ok()?;
    metadata["target_directory"].as_str().map(str::to_owned)
}
