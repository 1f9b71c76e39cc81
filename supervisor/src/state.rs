//! The dev state folder (`.stackr/` by default): databases, Redis data and dev secrets live
//! there across runs. `--reset` deletes it, only after the developer said yes.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Creates the state folder (and a `.gitignore` inside it, so it stays out of git even in a
/// project whose own `.gitignore` forgot it).
pub fn ensure_state_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the state folder {}", dir.display()))?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(
            &ignore,
            "# stackr dev state: databases, Redis data, secrets\n*\n",
        )
        .with_context(|| format!("cannot write {}", ignore.display()))?;
    }
    Ok(())
}

/// Deletes `dir` after confirmation: `yes` skips the question; without a terminal to ask on,
/// it refuses rather than guess. Returns whether anything was deleted.
pub fn reset_state_dir(dir: &Path, project_dir: &Path, yes: bool) -> Result<bool> {
    guard_against_dangerous_paths(dir, project_dir)?;
    if !dir.exists() {
        eprintln!("stackr: nothing to reset, {} does not exist", dir.display());
        return Ok(false);
    }
    if !yes {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            bail!(
                "--reset deletes {} (databases, Redis data, dev secrets) and needs a confirmation; \
                 run it in a terminal, or add --yes",
                dir.display()
            );
        }
        eprint!(
            "Delete {} (all dev databases, Redis data and dev secrets)? [y/N] ",
            dir.display()
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            bail!("reset cancelled; nothing was deleted");
        }
    }
    std::fs::remove_dir_all(dir).with_context(|| format!("cannot delete {}", dir.display()))?;
    eprintln!("stackr: deleted {}", dir.display());
    Ok(true)
}

/// A mistyped `--state-dir` must never turn `--reset` into `rm -rf ~`.
fn guard_against_dangerous_paths(dir: &Path, project_dir: &Path) -> Result<()> {
    let canon = |p: &Path| -> PathBuf { p.canonicalize().unwrap_or_else(|_| p.to_owned()) };
    let d = canon(dir);
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .map(|h| canon(&h));
    let refuse = d.parent().is_none()
        || d == canon(project_dir)
        || home.as_deref() == Some(d.as_path())
        || canon(project_dir).starts_with(&d);
    if refuse {
        bail!(
            "refusing to reset {}: it is not a state folder inside the project",
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_with_yes_deletes_and_refuses_dangerous_targets() {
        let project = tempfile::tempdir().unwrap();
        let state = project.path().join(".stackr");
        ensure_state_dir(&state).unwrap();
        std::fs::write(state.join("data"), "x").unwrap();
        assert!(state.join(".gitignore").exists());
        assert!(reset_state_dir(&state, project.path(), true).unwrap());
        assert!(!state.exists());
        assert!(!reset_state_dir(&state, project.path(), true).unwrap());
        assert!(reset_state_dir(project.path(), project.path(), true).is_err());
        assert!(reset_state_dir(Path::new("/"), project.path(), true).is_err());
        assert!(project.path().exists());
    }
}
