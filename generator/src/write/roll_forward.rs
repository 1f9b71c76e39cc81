//! Finishing the commits a killed process left (see [`super::commit`]): the next writing command
//! places what a staging folder past its commit point still holds. Such a folder may have come
//! with a repository rather than from a stopped stackr, so every entry is checked before anything
//! is placed, and a folder that would write anywhere but plain files inside the project is refused
//! whole.

use std::fs;
use std::path::Path;

use anyhow::{anyhow, Context, Result};

use super::commit::{create_parents, STAGING_PREFIX};
use super::staging_targets::{self, Target};

/// Finishes the commits a killed process left in `root`; returns the paths it wrote.
pub fn finish_interrupted(root: &Path) -> Result<Vec<String>> {
    let mut written = Vec::new();
    let Ok(entries) = fs::read_dir(root) else {
        return Ok(written);
    };
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with(STAGING_PREFIX)
        {
            continue;
        }
        let staging = entry.path();
        // The entry itself, not what a link points at: stackr makes real folders only.
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_symlink() {
            return Err(refusal(
                &staging,
                &["it is a symbolic link, not a folder stackr made".to_owned()],
            ));
        }
        if !file_type.is_dir() {
            continue;
        }
        written.extend(finish(root, &staging)?);
        fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
    }
    Ok(written)
}

/// Places what `staging` still holds, once every entry has passed its checks.
fn finish(root: &Path, staging: &Path) -> Result<Vec<String>> {
    let targets = match staging_targets::read(staging) {
        Ok(Some(targets)) => targets,
        // Stopped before its commit point: nothing of it was placed.
        Ok(None) => return Ok(Vec::new()),
        Err(problem) => return Err(refusal(staging, &[problem])),
    };
    let mut problems = Vec::new();
    let mut left: Vec<&Target> = Vec::new();
    for target in &targets {
        match still_staged(staging, target).and_then(|staged| {
            check_parents(root, &target.path)?;
            Ok(staged)
        }) {
            Ok(true) => left.push(target),
            Ok(false) => {} // placed before the process stopped
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return Err(refusal(staging, &problems));
    }
    let mut written = Vec::new();
    for target in left {
        let path = &target.path;
        let destination = root.join(path);
        create_parents(root, &destination, &mut Vec::new())
            .and_then(|()| {
                fs::rename(staging.join(target.staged_name()), &destination)
                    .with_context(|| format!("writing {path}"))
            })
            .with_context(|| {
                format!(
                    "finishing the writes a stopped stackr command left in {}: look at what is in the way, or remove that folder to drop them",
                    staging.display()
                )
            })?;
        written.push(path.clone());
    }
    Ok(written)
}

/// Whether the staged content of `target` is still in `staging` (not yet placed). It must be a
/// regular file: a link or a folder moved into the project could lead outside it.
fn still_staged(staging: &Path, target: &Target) -> Result<bool, String> {
    let name = target.staged_name();
    match fs::symlink_metadata(staging.join(&name)) {
        Ok(metadata) if metadata.is_file() => Ok(true),
        Ok(_) => Err(format!(
            "`{name}`, the content staged for {}, is not a regular file",
            target.path
        )),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(format!("`{name}` cannot be read: {err}")),
    }
}

/// Every existing folder on the way from `root` to `path` is a real folder: a symbolic link
/// among them could lead outside the project.
fn check_parents(root: &Path, path: &str) -> Result<(), String> {
    let mut folder = root.to_path_buf();
    let parents = path.split('/').collect::<Vec<_>>();
    for (depth, component) in parents[..parents.len() - 1].iter().enumerate() {
        folder.push(component);
        let shown = parents[..=depth].join("/");
        match fs::symlink_metadata(&folder) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                return Err(format!(
                    "{path} is under {shown}, a symbolic link (it could lead outside the project)"
                ))
            }
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

/// The error for a staging folder that is not finished: what is wrong, and what to do.
fn refusal(staging: &Path, problems: &[String]) -> anyhow::Error {
    let list: String = problems
        .iter()
        .map(|problem| format!("\n  - {problem}"))
        .collect();
    anyhow!(
        "a stopped stackr command left writes to finish in {staging}, and they cannot be finished:{list}\n\
         nothing was written. That folder may not be stackr's own (a repository can carry one). \
         Delete it (`rm -r {staging}`) to drop those writes, then run your command again.",
        staging = staging.display()
    )
}
