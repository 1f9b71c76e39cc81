//! The folders on the way from a project's root to a file stackr reads or writes there. A
//! repository can carry a symbolic link in place of a folder, and what is under it could be
//! anywhere on the machine: stackr neither writes there nor reads (and so prints) what is there.

use std::fs;
use std::path::Path;

/// The first folder on the way from `root` to `path` (`/`-separated, relative to `root`) that is
/// a symbolic link, as a path relative to `root`; `None` when every existing folder there is a
/// real one.
pub fn linked_folder(root: &Path, path: &str) -> Option<String> {
    let mut folder = root.to_path_buf();
    let parents = path.split('/').collect::<Vec<_>>();
    for (depth, component) in parents[..parents.len() - 1].iter().enumerate() {
        folder.push(component);
        match fs::symlink_metadata(&folder) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                return Some(parents[..=depth].join("/"))
            }
            Ok(metadata) if metadata.is_dir() => {}
            _ => return None,
        }
    }
    None
}

/// Every existing folder on the way from `root` to `path` is a real folder, so a file placed at
/// `path` lands inside the project.
pub(super) fn check(root: &Path, path: &str) -> Result<(), String> {
    if let Some(shown) = linked_folder(root, path) {
        return Err(format!(
            "{path} is under {shown}, a symbolic link (it could lead outside the project)"
        ));
    }
    let mut folder = root.to_path_buf();
    let parents = path.split('/').collect::<Vec<_>>();
    for (depth, component) in parents[..parents.len() - 1].iter().enumerate() {
        folder.push(component);
        let shown = parents[..=depth].join("/");
        match fs::symlink_metadata(&folder) {
            Ok(metadata) if !metadata.is_dir() => {
                return Err(format!("{path} is under {shown}, which is not a folder"))
            }
            Ok(_) => {}
            // The rest of the way does not exist yet either: placing creates it.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => break,
            Err(err) => return Err(format!("{shown} cannot be read: {err}")),
        }
    }
    Ok(())
}
