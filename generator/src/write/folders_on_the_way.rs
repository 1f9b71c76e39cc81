//! The folders on the way from a project's root to a file stackr reads or writes there. A
//! repository can carry a symbolic link in place of a folder, and what is under it could be
//! anywhere on the machine: stackr neither writes there nor reads (and so prints) what is there.

use std::fs;
use std::path::Path;

/// What stands on the way to a file instead of a real folder, named relative to the root.
enum Obstacle {
    Link(String),
    NotAFolder(String),
    Unreadable(String, std::io::Error),
}

/// The first existing part of the way from `root` to `path` (`/`-separated, relative to `root`)
/// that is not a real folder; `None` when there is none (the rest of the way may not exist yet).
fn first_obstacle(root: &Path, path: &str) -> Option<Obstacle> {
    let mut folder = root.to_path_buf();
    let parents = path.split('/').collect::<Vec<_>>();
    for (depth, component) in parents[..parents.len() - 1].iter().enumerate() {
        folder.push(component);
        let shown = || parents[..=depth].join("/");
        match fs::symlink_metadata(&folder) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                return Some(Obstacle::Link(shown()))
            }
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => return Some(Obstacle::NotAFolder(shown())),
            // The rest of the way does not exist yet either: placing creates it.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
            Err(err) => return Some(Obstacle::Unreadable(shown(), err)),
        }
    }
    None
}

/// The first folder on the way from `root` to `path` (`/`-separated, relative to `root`) that is
/// a symbolic link, as a path relative to `root`; `None` when every existing folder there, up to
/// the first that is not one, is a real one.
pub fn linked_folder(root: &Path, path: &str) -> Option<String> {
    match first_obstacle(root, path)? {
        Obstacle::Link(shown) => Some(shown),
        Obstacle::NotAFolder(_) | Obstacle::Unreadable(..) => None,
    }
}

/// Every existing folder on the way from `root` to `path` is a real folder, so a file placed at
/// `path` lands inside the project.
pub(super) fn check(root: &Path, path: &str) -> Result<(), String> {
    match first_obstacle(root, path) {
        None => Ok(()),
        Some(Obstacle::Link(shown)) => Err(format!(
            "{path} is under {shown}, a symbolic link (it could lead outside the project)"
        )),
        Some(Obstacle::NotAFolder(shown)) => {
            Err(format!("{path} is under {shown}, which is not a folder"))
        }
        Some(Obstacle::Unreadable(shown, err)) => Err(format!("{shown} cannot be read: {err}")),
    }
}
