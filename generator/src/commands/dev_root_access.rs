//! `stackr dev` run as root: the generated commands run initdb and PostgreSQL as the `postgres`
//! user (both refuse root), in the project's folder. When that user cannot enter it (the project
//! lives under root's 0700 home, say), initdb fails with a bare "Permission denied" that says
//! nothing to someone running as root; this check names the closed folder before anything starts.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Result;

use crate::plan::dev_postgres::AS_POSTGRES_WHEN_ROOT;

/// Refuses when running as root and the `postgres` user cannot reach `root`; passes otherwise,
/// and when that user or `setpriv` is missing (the stack's own errors say so then).
pub fn check(root: &Path) -> Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let Ok(root) = root.canonicalize() else {
        return Ok(());
    };
    // Asked of the user the stack uses, the way the stack becomes it: its groups count too.
    let can_enter = |dir: &Path| {
        let mut words = AS_POSTGRES_WHEN_ROOT.split_whitespace();
        let program = words.next().unwrap_or("setpriv");
        Command::new(program)
            .args(words)
            .args(["test", "-x"])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
    };
    match can_enter(Path::new("/")) {
        Ok(true) => {}
        // No setpriv or no postgres user: nothing this check can tell.
        Ok(false) | Err(_) => return Ok(()),
    }
    // The outermost folder it cannot enter: the one to open (or move the project out of).
    let Some(closed) = root
        .ancestors()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .find(|dir| !can_enter(dir).unwrap_or(true))
    else {
        return Ok(());
    };
    let mode = std::fs::metadata(closed)
        .map(|m| format!(" (mode {:o})", m.permissions().mode() & 0o7777))
        .unwrap_or_default();
    Err(crate::UsageError::new(
        format!(
            "running as root, the stack's PostgreSQL runs as the `postgres` user, which cannot enter {}{mode}, a folder the project is in",
            closed.display()
        ),
        format!(
            "move the project under a folder others can enter, open this one to them (`chmod o+x {}`: others may then enter it, not list it), or run stackr as a regular user",
            closed.display()
        ),
    )
    .into())
}
