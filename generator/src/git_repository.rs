//! Whether a project is in a git work tree, which decides what a flake command (`nix run .#dev`,
//! `colmena apply`, `nixos-rebuild --flake`) copies into the Nix store, where every local user can
//! read it: in a git work tree only what git tracks (the project's `.gitignore` keeps the state
//! folder out, and the deployment folder carries its own); otherwise the whole folder, dev
//! databases and secrets included.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Whether `dir` is inside a git work tree (false without git).
pub fn holds(dir: &Path) -> bool {
    Command::new("git")
        .args(["rev-parse", "--is-inside-work-tree"])
        .current_dir(dir)
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.starts_with(b"true"))
}

/// Makes `dir` a git repository with every file staged (none committed), unless it is in a work
/// tree already. `Ok(false)` when git is not installed.
pub fn start(dir: &Path) -> Result<bool> {
    if holds(dir) {
        return Ok(true);
    }
    for args in [&["init", "-q"][..], &["add", "-A"]] {
        let status = match Command::new("git").args(args).current_dir(dir).status() {
            Ok(status) => status,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e).context("running git"),
        };
        if !status.success() {
            bail!(
                "`git {}` in {} failed ({status})",
                args.join(" "),
                dir.display()
            );
        }
    }
    Ok(true)
}
