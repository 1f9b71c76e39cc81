//! All-or-nothing writes. New contents are staged in a temporary folder inside the project (same
//! file system, so `rename` is atomic per file); each file then replaces its target by rename
//! after the old content is backed up. If any step fails, every placed file is restored from its
//! backup (or removed if it was new) and created folders are removed, so the project is
//! byte-identical to before.
//!
//! A process killed meanwhile (`kill -9`, a power cut) cannot roll back: once every new file is
//! staged, a list of their targets and of what each held is written into the staging folder (the
//! commit point, [`super::staging_targets`]), and [`super::finish_interrupted`], run by the next
//! command that writes, places what is left unless the user changed one of those files since. A
//! staging folder without the list is from a commit killed before its commit point: nothing of it
//! was placed, and it is removed.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use stackr_plan::regular_file;
use stackr_supervisor::io_advice::advised;

use super::drift::holds_exactly;
use super::file_state::FileState;
use super::staging_targets::{self, Target};

/// Test hook: fail the commit after placing this many files (exercises the rollback).
pub const FAIL_AFTER_ENV: &str = "STACKR_TEST_FAIL_AFTER";
/// Test hook: abort the process after placing this many files (a `kill -9` at that point).
pub const CRASH_AFTER_ENV: &str = "STACKR_TEST_CRASH_AFTER";

pub use stackr_plan::layout::STAGING_PREFIX;

/// Files to write, by path relative to the project root. Later additions replace earlier ones.
#[derive(Debug, Default, Clone)]
pub struct Changeset {
    files: BTreeMap<String, Vec<u8>>,
}

impl Changeset {
    pub fn add(&mut self, path: impl Into<String>, content: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), content.into());
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Each file's path and content.
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(p, c)| (p.as_str(), c.as_slice()))
    }
}

/// What placing one file did, so it can be undone.
enum Placed {
    Created(PathBuf),
    Replaced { target: PathBuf, backup: PathBuf },
}

/// Writes `changes` under `root` atomically; returns the paths that actually changed (files whose
/// content is already right are not touched).
pub fn commit(root: &Path, changes: &Changeset) -> Result<Vec<String>> {
    let pending: Vec<(&String, &Vec<u8>)> = changes
        .files
        .iter()
        .filter(|(path, content)| !holds_exactly(&root.join(path), content).unwrap_or(false))
        .collect();
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    // Placing a file replaces a link (backed up as the link: what it points at is never read). A
    // device or a named pipe, or a link to one, is no file anyone wrote there: backing up the
    // former would mean reading it for ever or waiting on it, and both are the user's to remove. A
    // link among the folders on the way would put the file wherever it points.
    for (path, _) in &pending {
        super::folders_on_the_way::check(root, path).map_err(|why| {
            crate::UsageError::new(
                format!("cannot write {path}: {why}"),
                "stackr writes only inside the project: make that a real folder (or delete it), then run the command again",
            )
        })?;
        let metadata = fs::metadata(root.join(path)).ok();
        if let Some(why) = metadata.as_ref().and_then(regular_file::refusal) {
            return Err(crate::UsageError::new(
                format!("cannot write {path}: {why}"),
                "stackr writes a file there: delete it, then run the command again",
            )
            .into());
        }
    }
    let staging = tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(root)
        .map_err(|err| {
            let doing = format!("creating a staging folder in {}", root.display());
            advised(err, doing, root, root)
        })?;
    let mut staged = Vec::new();
    for (index, (path, content)) in pending.iter().enumerate() {
        // The next command refuses a list with any other path: a bug here must not get that far.
        staging_targets::check_path(path)
            .map_err(|why| anyhow::anyhow!("stackr was about to write a file {why}"))?;
        // What the file holds now, so finishing this commit after a kill can tell whether the
        // user changed it in between (and then leave it alone).
        let before =
            FileState::on_disk(&root.join(path)).with_context(|| format!("reading {path}"))?;
        let target = Target {
            index,
            before,
            path: (*path).clone(),
        };
        let mode = kept_mode(&root.join(path));
        write_synced(&staging.path().join(target.staged_name()), content, mode)
            .map_err(|err| advised(err, format!("staging {path}"), root, root))?;
        staged.push(target);
    }
    let list_text = staging_targets::render(&staged);
    if list_text.len() > staging_targets::MAX_BYTES {
        bail!("too many files to write in one commit ({})", staged.len());
    }
    let list = staging.path().join(staging_targets::FILE);
    write_synced(&list.with_extension("new"), list_text.as_bytes(), None)
        .and_then(|()| fs::rename(list.with_extension("new"), &list))
        .map_err(|err| advised(err, "staging the list of files to write".into(), root, root))?;
    let test_hook = |name: &str| -> Option<usize> { std::env::var(name).ok()?.parse().ok() };
    let (fail_after, crash_after) = (test_hook(FAIL_AFTER_ENV), test_hook(CRASH_AFTER_ENV));
    let mut placed = Vec::new();
    let mut created_dirs = Vec::new();
    let result = (|| -> Result<()> {
        for entry in &staged {
            let (index, path) = (entry.index, &entry.path);
            if fail_after == Some(index) {
                bail!("injected failure after {index} files ({FAIL_AFTER_ENV})");
            }
            if crash_after == Some(index) {
                std::process::abort();
            }
            let target = root.join(path);
            create_parents(root, &target, &mut created_dirs)?;
            let done = if fs::symlink_metadata(&target).is_ok() {
                let backup = staging.path().join(format!("old-{index}"));
                back_up(&target, &backup)
                    .map_err(|err| advised(err, format!("backing up {path}"), root, root))?;
                Placed::Replaced {
                    target: target.clone(),
                    backup,
                }
            } else {
                Placed::Created(target.clone())
            };
            fs::rename(staging.path().join(entry.staged_name()), &target).map_err(|err| {
                let folder = target.parent().unwrap_or(root);
                advised(err, format!("writing {path}"), folder, root)
            })?;
            // Only once placed: a rename that failed left the file as it was, and restoring it
            // (which the same lack of permission may refuse) would report a file left changed.
            placed.push(done);
        }
        Ok(())
    })();
    if let Err(err) = result {
        // No longer a commit to finish: the next command must not place what this one undoes.
        let _ = fs::remove_file(&list);
        let unrestored = roll_back(placed, created_dirs);
        return Err(err.context(if unrestored == 0 {
            "nothing was changed: every file was restored".to_owned()
        } else {
            format!("{unrestored} file(s) could not be restored (see the warnings above); the others were")
        }));
    }
    Ok(staged.into_iter().map(|entry| entry.path).collect())
}

/// A copy of what is at `target` in `backup`, to put back if the commit fails. A link is copied as
/// the link: what it points at is not read (it could be any file on the machine), and restoring a
/// copy of it would put that file's content into the project.
fn back_up(target: &Path, backup: &Path) -> std::io::Result<()> {
    match fs::read_link(target) {
        Ok(points_at) => std::os::unix::fs::symlink(points_at, backup),
        Err(_) => fs::copy(target, backup).map(drop),
    }
}

/// Puts `backup` (from [`back_up`]) back at `target`.
fn restore(backup: &Path, target: &Path) -> std::io::Result<()> {
    fs::rename(backup, target).or_else(|_| match fs::read_link(backup) {
        Ok(points_at) => {
            let _ = fs::remove_file(target);
            std::os::unix::fs::symlink(points_at, target)
        }
        Err(_) => fs::copy(backup, target).map(drop),
    })
}

/// The permission bits of the regular file at `target`, which its replacement keeps: a file the
/// user made read-only (or executable) stays so. A new file, or one replacing a link, takes the
/// umask's.
fn kept_mode(target: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = fs::symlink_metadata(target).ok()?;
    metadata
        .is_file()
        .then(|| metadata.permissions().mode() & 0o7777)
}

/// `content` in `path`, with the permission bits `mode` when given, on the disk before this
/// returns.
fn write_synced(path: &Path, content: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut file = fs::File::create(path)?;
    std::io::Write::write_all(&mut file, content)?;
    if let Some(mode) = mode {
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    file.sync_all()
}

/// Creates missing parent folders of `target` (below `root`), remembering them for rollback.
pub(super) fn create_parents(root: &Path, target: &Path, created: &mut Vec<PathBuf>) -> Result<()> {
    let parent = target.parent().unwrap_or(root);
    let missing: Vec<&Path> = parent.ancestors().take_while(|dir| !dir.exists()).collect();
    for dir in missing.into_iter().rev() {
        fs::create_dir(dir).map_err(|err| {
            let folder = dir.parent().unwrap_or(root);
            advised(err, format!("creating {}", dir.display()), folder, root)
        })?;
        created.push(dir.to_owned());
    }
    Ok(())
}

/// Undoes `placed`; returns how many files it could not restore.
fn roll_back(placed: Vec<Placed>, created_dirs: Vec<PathBuf>) -> usize {
    let mut unrestored = 0;
    for step in placed.into_iter().rev() {
        // Best effort: report but keep restoring the rest.
        let outcome = match &step {
            Placed::Created(target) => fs::remove_file(target),
            Placed::Replaced { target, backup } => restore(backup, target),
        };
        if let Err(err) = outcome {
            let target = match &step {
                Placed::Created(t) | Placed::Replaced { target: t, .. } => t,
            };
            eprintln!("warning: could not restore {}: {err}", target.display());
            unrestored += 1;
        }
    }
    for dir in created_dirs.into_iter().rev() {
        let _ = fs::remove_dir(dir);
    }
    unrestored
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file whose backup is gone cannot be restored: the rollback counts it, so the error does
    /// not claim that nothing changed.
    #[test]
    fn a_rollback_counts_the_files_it_could_not_restore() {
        let dir = tempfile::tempdir().unwrap();
        let restorable = dir.path().join("restorable");
        let backup = dir.path().join("backup");
        fs::write(&restorable, "new").unwrap();
        fs::write(&backup, "old").unwrap();
        let placed = vec![
            Placed::Replaced {
                target: restorable.clone(),
                backup,
            },
            Placed::Replaced {
                target: dir.path().join("lost"),
                backup: dir.path().join("no-such-backup"),
            },
        ];
        assert_eq!(roll_back(placed, Vec::new()), 1);
        assert_eq!(fs::read_to_string(restorable).unwrap(), "old");
    }

    /// A failed commit puts a link it replaced back as the link; what the link points at is not
    /// read, so no copy of it lands in the project (as the backup or as the restored file).
    #[test]
    fn a_replaced_link_is_backed_up_and_restored_as_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, "what the link points at").unwrap();
        let target = dir.path().join("linked");
        std::os::unix::fs::symlink(&elsewhere, &target).unwrap();
        let backup = dir.path().join("backup");
        back_up(&target, &backup).unwrap();
        assert_eq!(fs::read_link(&backup).unwrap(), elsewhere);
        // What placing the new file does.
        fs::remove_file(&target).unwrap();
        fs::write(&target, "stackr's").unwrap();
        let placed = vec![Placed::Replaced {
            target: target.clone(),
            backup,
        }];
        assert_eq!(roll_back(placed, Vec::new()), 0);
        assert_eq!(fs::read_link(&target).unwrap(), elsewhere);
        assert_eq!(
            fs::read_to_string(&elsewhere).unwrap(),
            "what the link points at"
        );
    }
}
