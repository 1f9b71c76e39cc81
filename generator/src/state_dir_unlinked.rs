//! The state folder (`stateDir`) and the folders stackr keeps secrets in under it are real folders
//! of the project, never symbolic links. `stackr dev` keeps databases and dev secrets there and
//! `--reset` empties the state folder; `stackr secrets` writes the deployment's keys there. A
//! repository can carry a link in their place (git commits a link at `.stackr` although the
//! project's `.gitignore` names `/.stackr/`, which matches only a folder), and through it `--reset`
//! would empty whatever folder it points at and the secrets would land wherever it leads.

use std::path::Path;

use crate::write::linked_folder;
use crate::UsageError;

/// Refuses when a folder on the way from `root` to any of `folders` (`/`-separated, relative to
/// `root`, each included) is a symbolic link, naming the first. `what` says what the command keeps
/// there.
pub fn check(root: &Path, folders: &[String], what: &str) -> Result<(), UsageError> {
    let Some(link) = folders
        .iter()
        .find_map(|folder| linked_folder(root, &format!("{folder}/-")))
    else {
        return Ok(());
    };
    let target = std::fs::read_link(root.join(&link))
        .map(|target| format!(" to {}", target.display()))
        .unwrap_or_default();
    Err(UsageError::new(
        format!(
            "`{link}` is a symbolic link{target}: stackr keeps {what} under it, and would follow it wherever it leads, outside the project"
        ),
        format!(
            "make `{link}` a real folder: move in what the link points at if it belongs to this project, or remove the link (what it points at stays where it is) to start afresh, and run the command again"
        ),
    ))
}
