//! What to check when writing in the project fails for a reason of the machine's, not stackr's:
//! a folder the user may not write in (the project made by another user, or with sudo), a full
//! file system, or one mounted read-only. The system's words ("Permission denied (os error 13)")
//! say neither which folder nor what to do; the error says both. Here, in the crate of the dev
//! state folder's writers, for the generator's writers too (it depends on this crate).

use std::fmt;
use std::io::{self, ErrorKind};
use std::path::Path;

/// `err`, met `doing` something in `folder` of the project at `root`, as an error that ends with
/// what to check and do when there is advice for its kind.
pub fn advised(err: io::Error, doing: String, folder: &Path, root: &Path) -> anyhow::Error {
    let help = advice(&err, folder, Some(root));
    with_help(err, doing, help)
}

/// [`advised`] for `folder` outside any project (where `stackr init` makes one): the advice leaves
/// out making the project yours, which would name a folder of the system's (`sudo chown -R` of
/// `/srv`, or `/`).
pub fn advised_outside_project(err: io::Error, doing: String, folder: &Path) -> anyhow::Error {
    let help = advice(&err, folder, None);
    with_help(err, doing, help)
}

fn with_help(err: io::Error, doing: String, help: Option<String>) -> anyhow::Error {
    match help {
        Some(help) => anyhow::Error::new(Advised { doing, err, help }),
        None => anyhow::Error::new(err).context(doing),
    }
}

/// What to check and do about `err`, met writing in `folder` of the project at `root` (`None`:
/// outside any project), naming the folder; `None` for a kind without advice.
fn advice(err: &io::Error, folder: &Path, root: Option<&Path>) -> Option<String> {
    // Absolute: a command run in the project names it `.`.
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let folder = absolute(folder);
    let folder = folder.display();
    match err.kind() {
        // EACCES, and EPERM (a file or folder made immutable).
        ErrorKind::PermissionDenied => {
            let whose = match root {
                Some(root) => format!(
                    "a project made by another user or with sudo is theirs: run stackr as that user, or make the project yours with `sudo chown -R \"$USER\" {}`",
                    absolute(root).display()
                ),
                None => "make the project in a folder of yours".to_owned(),
            };
            Some(format!(
                "check that you may write in {folder}: `ls -ld {folder}` shows its owner and mode (and `lsattr -d` whether it is immutable); {whose}"
            ))
        }
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => Some(format!(
            "the file system holding {folder} is full, or your disk quota on it is used up: `df -h {folder}` shows the space left; free some, then run the command again"
        )),
        // EROFS: a live system, a container's image, a mount made `ro`.
        ErrorKind::ReadOnlyFilesystem => Some(format!(
            "{folder} is on a file system mounted read-only: `findmnt -T {folder}` shows its mount and options; remount it read-write (`sudo mount -o remount,rw` on that mount point) or move the project to a writable file system, then run the command again"
        )),
        _ => None,
    }
}

/// The folder in which creating `path` (with the folders missing above it) was refused: the
/// nearest one that exists, which the advice can name and its commands look at.
pub fn nearest_existing(path: &Path) -> &Path {
    path.ancestors()
        .find(|dir| !dir.as_os_str().is_empty() && dir.exists())
        .unwrap_or(path)
}

/// An I/O error with what to do about it. Displayed whole, its source included, so that the
/// advice comes last, after what failed.
#[derive(Debug)]
struct Advised {
    doing: String,
    err: io::Error,
    help: String,
}

impl fmt::Display for Advised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}\n  help: {}", self.doing, self.err, self.help)
    }
}

impl std::error::Error for Advised {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_kinds_get_no_advice() {
        let err = io::Error::from(ErrorKind::NotFound);
        assert_eq!(
            advice(&err, Path::new("/p/nix"), Some(Path::new("/p"))),
            None
        );
        let err = io::Error::from_raw_os_error(libc::EDQUOT);
        let help = advice(&err, Path::new("/p/nix"), Some(Path::new("/p"))).unwrap();
        assert!(help.contains("df -h /p/nix"), "{help}");
        let err = io::Error::from_raw_os_error(libc::EROFS);
        let help = advice(&err, Path::new("/p/nix"), Some(Path::new("/p"))).unwrap();
        assert!(help.contains("findmnt -T /p/nix"), "{help}");
    }

    #[test]
    fn outside_a_project_no_folder_is_to_be_made_yours() {
        let err = io::Error::from(ErrorKind::PermissionDenied);
        let help = advice(&err, Path::new("/srv"), None).unwrap();
        assert!(
            help.contains("ls -ld /srv") && !help.contains("chown"),
            "{help}"
        );
    }

    #[test]
    fn a_folder_not_made_is_named_by_the_nearest_that_exists() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("a/b");
        assert_eq!(nearest_existing(&missing), dir.path());
        assert_eq!(nearest_existing(dir.path()), dir.path());
    }
}
