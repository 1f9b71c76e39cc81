//! The dev state folder (`.stackr/` by default): databases, Redis data and dev secrets live
//! there across runs. `--reset` deletes it, only after the developer said yes.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::io_advice::{advised, nearest_existing};

/// The text of the state folder's marker `.gitignore` (see `STATE_DIR_GITIGNORE`).
fn state_gitignore() -> String {
    stackr_contract::STATE_DIR_GITIGNORE
        .iter()
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Mode of the state folder: it holds the dev secrets, databases and Redis data, which are the
/// developer's only. Run as root, the stack's commands add the search (`x`) bit for the
/// `postgres` user their PostgreSQL servers run as.
const STATE_DIR_MODE: u32 = 0o700;

/// Creates the state folder, with its `.gitignore`; one an older stackr made readable by all is
/// made private. A folder of other files is refused before this, by
/// [`refuse_a_folder_of_other_files`]. `project_dir` is the project the advice of an error names.
pub fn ensure_state_dir(dir: &Path, project_dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Made empty, then private before anything is put in it; folders above it keep the usual
    // mode (as root, the `postgres` user must traverse them).
    std::fs::create_dir_all(dir).map_err(|err| {
        let doing = format!("cannot create the state folder {}", dir.display());
        advised(err, doing, nearest_existing(dir), project_dir)
    })?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(STATE_DIR_MODE)).map_err(
        |err| {
            let doing = format!("cannot make the state folder {} private", dir.display());
            advised(err, doing, dir, project_dir)
        },
    )?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, state_gitignore()).map_err(|err| {
            advised(
                err,
                format!("cannot write {}", ignore.display()),
                dir,
                project_dir,
            )
        })?;
    }
    Ok(())
}

/// Refuses `dir` when it exists, is not marked as a state folder, and holds entries other than
/// `keeps` (a project's deployment and dev secrets) and the dev lock, naming a few of them: a `stateDir`
/// naming a folder of other files would git-ignore them, make them private, and let `--reset`
/// delete them. Checked before the lock is taken, which creates the folder.
pub fn refuse_a_folder_of_other_files(dir: &Path, keeps: &[String]) -> Result<()> {
    if is_marked_state_dir(dir) {
        return Ok(());
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut others: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !keeps.contains(name) && name != crate::lock::LOCK_FILE)
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    others.sort();
    let shown = others
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let more = others.len().saturating_sub(3);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    bail!(
        "{} holds files that are not `stackr dev` state ({shown}{more}): as the state folder it would be git-ignored, made private, and deleted by --reset; check `stateDir` in stackr.config.json (or --state-dir), or empty the folder",
        dir.display()
    )
}

/// Whether `stackr dev` has run on `dir`: its `.gitignore` is the one stackr writes.
fn is_marked_state_dir(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(".gitignore")).is_ok_and(|text| text == state_gitignore())
}

/// Deletes `dir`, but its entries named in `keeps`, after confirmation: `yes` skips the question;
/// without a terminal to ask on, it refuses rather than guess. Returns whether anything was
/// deleted.
pub fn reset_state_dir(
    dir: &Path,
    project_dir: &Path,
    yes: bool,
    keeps: &[String],
) -> Result<bool> {
    guard_against_dangerous_paths(dir, project_dir)?;
    if !dir.exists() {
        eprintln!("stackr: nothing to reset, {} does not exist", dir.display());
        return Ok(false);
    }
    // A mistyped `stateDir` or `--state-dir` naming the project's own sources (`services`)
    // must not delete them.
    if !is_marked_state_dir(dir) {
        bail!(
            "refusing to reset {}: `stackr dev` has not kept its state there (its .gitignore is \
             not the one stackr writes in a state folder); check `stateDir` and --state-dir, or \
             delete the folder yourself",
            dir.display()
        );
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
            "Delete {} (all dev databases, Redis data and dev secrets{})? [y/N] ",
            dir.display(),
            kept_note(dir, keeps)
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            bail!("reset cancelled; nothing was deleted");
        }
    }
    if keeps.is_empty() {
        std::fs::remove_dir_all(dir)
            .map_err(|err| advised(err, format!("deleting {}", dir.display()), dir, project_dir))?;
    } else {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            // The marker stays (it is written again at once anyway): a reset cut short here is
            // still one of a folder `stackr dev` keeps its state in.
            let kept = |name: &std::ffi::OsStr| {
                name == ".gitignore" || keeps.iter().any(|k| name == k.as_str())
            };
            if path.file_name().is_some_and(kept) {
                continue;
            }
            // The folder whose entries are removed: a data folder's own, or the state folder.
            let (removed, folder) = if path.is_dir() && !path.is_symlink() {
                (std::fs::remove_dir_all(&path), path.as_path())
            } else {
                (std::fs::remove_file(&path), dir)
            };
            removed.map_err(|err| {
                advised(
                    err,
                    format!("deleting {}", path.display()),
                    folder,
                    project_dir,
                )
            })?;
        }
    }
    eprintln!("stackr: deleted {}{}", dir.display(), kept_note(dir, keeps));
    Ok(true)
}

/// `; keeps <dir>/<entry>` for each kept entry that exists.
fn kept_note(dir: &Path, keeps: &[String]) -> String {
    keeps
        .iter()
        .filter(|k| dir.join(k).exists())
        .map(|k| format!("; keeps {}", dir.join(k).display()))
        .collect()
}

/// `path` with symlinks and `..` resolved, or as given when it does not exist yet.
fn resolved(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_owned())
}

/// Whether `a` and `b` name the same folder once resolved.
pub fn same_folder(a: &Path, b: &Path) -> bool {
    resolved(a) == resolved(b)
}

/// A mistyped `--state-dir` must never turn `--reset` into `rm -rf ~`.
fn guard_against_dangerous_paths(dir: &Path, project_dir: &Path) -> Result<()> {
    let d = resolved(dir);
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .map(|h| resolved(&h));
    let refuse = d.parent().is_none()
        || d == resolved(project_dir)
        || home.as_deref() == Some(d.as_path())
        || resolved(project_dir).starts_with(&d);
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
        ensure_state_dir(&state, project.path()).unwrap();
        std::fs::write(state.join("data"), "x").unwrap();
        assert!(state.join(".gitignore").exists());
        assert!(reset_state_dir(&state, project.path(), true, &[]).unwrap());
        assert!(!state.exists());
        assert!(!reset_state_dir(&state, project.path(), true, &[]).unwrap());
        assert!(reset_state_dir(project.path(), project.path(), true, &[]).is_err());
        assert!(reset_state_dir(Path::new("/"), project.path(), true, &[]).is_err());
        assert!(project.path().exists());
    }

    #[test]
    fn the_state_folder_is_private_even_when_it_existed() {
        use std::os::unix::fs::PermissionsExt;
        let project = tempfile::tempdir().unwrap();
        let mode = |dir: &Path| std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
        let fresh = project.path().join("fresh");
        ensure_state_dir(&fresh, project.path()).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        let old = project.path().join("old");
        std::fs::create_dir(&old).unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure_state_dir(&old, project.path()).unwrap();
        assert_eq!(mode(&old), 0o700);
    }

    #[test]
    fn a_folder_of_other_files_is_not_taken_as_the_state_folder() {
        use std::os::unix::fs::PermissionsExt;
        let project = tempfile::tempdir().unwrap();
        let docs = project.path().join("docs");
        std::fs::create_dir(&docs).unwrap();
        std::fs::write(docs.join("guide.md"), "# guide").unwrap();
        let refused = refuse_a_folder_of_other_files(&docs, &[])
            .unwrap_err()
            .to_string();
        assert!(refused.contains("guide.md"), "{refused}");
        assert!(!docs.join(".gitignore").exists(), "nothing written");
        let mode = std::fs::metadata(&docs).unwrap().permissions().mode() & 0o777;
        assert_ne!(mode, 0o700, "left as it was");
        // A folder holding only what the project keeps there (its deployment secrets) is taken.
        let state = project.path().join(".stackr");
        std::fs::create_dir_all(state.join("deploy")).unwrap();
        refuse_a_folder_of_other_files(&state, &["deploy".to_owned()]).unwrap();
        ensure_state_dir(&state, project.path()).unwrap();
        // Once marked, whatever stackr dev put in it is its own.
        std::fs::write(state.join("data"), "x").unwrap();
        refuse_a_folder_of_other_files(&state, &[]).unwrap();
    }

    #[test]
    fn reset_refuses_a_folder_stackr_dev_has_not_kept_its_state_in() {
        let project = tempfile::tempdir().unwrap();
        let sources = project.path().join("services");
        std::fs::create_dir_all(sources.join("core/src")).unwrap();
        std::fs::write(sources.join("core/src/main.rs"), "fn main() {}").unwrap();
        std::fs::write(sources.join(".gitignore"), "target/\n").unwrap();
        let refused = reset_state_dir(&sources, project.path(), true, &[]).unwrap_err();
        assert!(
            refused.to_string().contains("refusing to reset"),
            "{refused}"
        );
        assert!(sources.join("core/src/main.rs").exists());
    }
}
