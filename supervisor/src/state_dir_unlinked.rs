//! The state folder is a real folder, never a symbolic link: `--reset` empties it and the stack
//! keeps its databases, Redis data and dev secrets in it. A repository can carry a link in its
//! place (git commits a link at `.stackr` although a `.gitignore` naming `/.stackr/` matches only
//! a folder), and through it `--reset` would empty whatever folder it points at and the stack would
//! write wherever it leads. `stackr dev` refuses such a link for a stackr project before it runs
//! the supervisor; this is the supervisor's own check, so that every run of it is covered (a
//! process-compose file given `--state-dir`, a program embedding the supervisor).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Refuses when the state folder, a folder on the way to it from the project, or one of the
/// folders `under_it` (entries of the state folder the stack writes in) is a symbolic link,
/// naming the first (relative to the project when it is in it).
pub fn refuse_a_linked_state_dir(
    state_dir: &Path,
    project_dir: &Path,
    under_it: &[String],
) -> Result<()> {
    let Some(link) = folders_to_check(state_dir, project_dir, under_it)
        .into_iter()
        .find(|folder| folder.symlink_metadata().is_ok_and(|m| m.is_symlink()))
    else {
        return Ok(());
    };
    let target = std::fs::read_link(&link)
        .map(|target| format!(" to {}", target.display()))
        .unwrap_or_default();
    let shown = link.strip_prefix(project_dir).unwrap_or(&link).display();
    bail!(
        "`{shown}` is a symbolic link{target}: the dev databases, Redis data and secrets are kept under it (and --reset empties it), and would go wherever it leads, outside the project; \
         make `{shown}` a real folder: move in what the link points at if it belongs to this project, or remove the link (what it points at stays where it is) to start afresh, and start again"
    )
}

/// The state folder and the folders on the way to it from the project when it is in the
/// project (above the project, or for a state folder given outside it, the folders are the
/// machine's own, where a link such as `/tmp` is no concern), then the folders `under_it`.
fn folders_to_check(state_dir: &Path, project_dir: &Path, under_it: &[String]) -> Vec<PathBuf> {
    let mut folders = Vec::new();
    match state_dir.strip_prefix(project_dir) {
        Ok(rest) => {
            let mut folder = project_dir.to_path_buf();
            for part in rest.components() {
                folder.push(part);
                folders.push(folder.clone());
            }
        }
        Err(_) => folders.push(state_dir.to_path_buf()),
    }
    folders.extend(under_it.iter().map(|entry| state_dir.join(entry)));
    folders
}
