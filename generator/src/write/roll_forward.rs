//! Finishing the commits a killed process left (see [`super::commit`]): the next writing command
//! places what a staging folder past its commit point still holds. Every entry is checked before
//! anything is placed, and the folder is refused whole when one fails: a file the user changed
//! after it was staged is not overwritten, and since such a folder may also have come with a
//! repository rather than from a stopped stackr, nothing is written but plain files inside the
//! project.

use std::fs;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use stackr_supervisor::io_advice::advised;

use super::commit::{create_parents, STAGING_PREFIX};
use super::file_state::FileState;
use super::staging_targets::{self, Target};

/// Why a staging folder cannot be finished.
enum Problem {
    /// Its list is not one this stackr writes.
    List(String),
    /// Placing an entry could write something other than a plain file inside the project.
    Unsafe(String),
    /// The user changed an entry's file after the commit staged it.
    Changed(String),
}

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
                &[Problem::Unsafe(
                    "it is a symbolic link, not a folder stackr made".to_owned(),
                )],
            ));
        }
        if !file_type.is_dir() {
            continue;
        }
        written.extend(finish(root, &staging)?);
        fs::remove_dir_all(&staging)
            .map_err(|err| advised(err, format!("removing {}", staging.display()), root, root))?;
    }
    Ok(written)
}

/// The staging folders in `root` that a killed command left for the next writing command to
/// finish, by name: what a check reports, since it writes nothing itself.
pub fn left_unfinished(root: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(STAGING_PREFIX))
        .collect();
    names.sort();
    names
}

/// Places what `staging` still holds, once every entry has passed its checks.
fn finish(root: &Path, staging: &Path) -> Result<Vec<String>> {
    let targets = match staging_targets::read(staging) {
        Ok(Some(targets)) => targets,
        // Stopped before its commit point: nothing of it was placed.
        Ok(None) => return Ok(Vec::new()),
        Err(problem) => return Err(refusal(staging, &[Problem::List(problem)])),
    };
    let mut problems = Vec::new();
    let mut left: Vec<&Target> = Vec::new();
    for target in &targets {
        match check(root, staging, target) {
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
                fs::rename(staging.join(target.staged_name()), &destination).map_err(|err| {
                    let folder = destination.parent().unwrap_or(root);
                    advised(err, format!("writing {path}"), folder, root)
                })
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

/// Whether `target` is still to be placed, once it passed every check.
fn check(root: &Path, staging: &Path, target: &Target) -> Result<bool, Problem> {
    if !still_staged(staging, target).map_err(Problem::Unsafe)? {
        return Ok(false);
    }
    super::folders_on_the_way::check(root, &target.path).map_err(Problem::Unsafe)?;
    check_unchanged(root, staging, target).map_err(Problem::Changed)?;
    Ok(true)
}

/// The file of `target` is what it was when its new content was staged, or already that content.
fn check_unchanged(root: &Path, staging: &Path, target: &Target) -> Result<(), String> {
    let path = &target.path;
    let state_of = |file: &Path| {
        FileState::on_disk(file).map_err(|err| format!("{path} cannot be read: {err}"))
    };
    let now = state_of(&root.join(path))?;
    if target.before.unchanged_in(now) || now == state_of(&staging.join(target.staged_name()))? {
        return Ok(());
    }
    let since = "after that command staged its new content";
    Err(match (target.before, now) {
        (FileState::Other, _) => format!(
            "{path} was not a regular file when that command staged its new content, so whether it changed since cannot be told"
        ),
        (_, FileState::Absent) => format!("{path} was deleted {since}"),
        (FileState::Absent, _) => format!("{path} was created {since}"),
        _ => format!("{path} was changed {since}"),
    })
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

/// The error for a staging folder that is not finished: what is wrong, and what to do.
fn refusal(staging: &Path, problems: &[Problem]) -> anyhow::Error {
    let mut list = String::new();
    let (mut foreign, mut changed) = (false, false);
    for problem in problems {
        let (Problem::List(text) | Problem::Unsafe(text) | Problem::Changed(text)) = problem;
        list.push_str(&format!("\n  - {text}"));
        foreign |= !matches!(problem, Problem::Changed(_));
        changed |= matches!(problem, Problem::Changed(_));
    }
    let mut why = String::new();
    if changed {
        why.push_str("Finishing them would overwrite those changes. ");
    }
    if foreign {
        why.push_str(
            "That folder may come from another stackr, or not from stackr at all (a repository can carry one). ",
        );
    }
    // The folder's name may come from a repository: quoted for the shell, and shown escaped.
    let delete = match shell_quoted(staging) {
        Some(quoted) => format!("Delete that folder (`rm -r {quoted}`)"),
        None => "Delete that folder".to_owned(),
    };
    anyhow!(
        "a stopped stackr command left writes to finish in {staging:?}, and they cannot be finished:{list}\n\
         nothing was written. {why}{delete} to drop those writes (files the command had already \
         written stay as they are), then run the command again."
    )
}

/// `path` in single quotes for a POSIX shell, or `None` when it holds a control character (which
/// a terminal could act on, and no command should carry).
fn shell_quoted(path: &Path) -> Option<String> {
    let text = path.to_str()?;
    if text.chars().any(char::is_control) {
        return None;
    }
    Some(format!("'{}'", text.replace('\'', "'\\''")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_to_delete_is_quoted_for_the_shell() {
        let named = |name: &str| shell_quoted(Path::new(name));
        assert_eq!(
            named("./.stackr-staging-x;$(touch PWNED)").as_deref(),
            Some("'./.stackr-staging-x;$(touch PWNED)'")
        );
        assert_eq!(named("./a'b ~").as_deref(), Some("'./a'\\''b ~'"));
        assert_eq!(named("./.stackr-staging-\u{1b}[2J"), None);
    }

    /// A project with one staging folder whose list is `entries` (path, state when staged, staged
    /// content), each file of `files` in place.
    fn project(entries: &[(&str, FileState, &str)], files: &[(&str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let staging = root.path().join(format!("{STAGING_PREFIX}test"));
        fs::create_dir(&staging).unwrap();
        let mut targets = Vec::new();
        for (index, (path, before, content)) in entries.iter().enumerate() {
            fs::write(staging.join(format!("new-{index}")), content).unwrap();
            targets.push(Target {
                index,
                before: *before,
                path: (*path).to_owned(),
            });
        }
        fs::write(
            staging.join(staging_targets::FILE),
            staging_targets::render(&targets),
        )
        .unwrap();
        for (path, content) in files {
            fs::write(root.path().join(path), content).unwrap();
        }
        root
    }

    fn state(content: &str) -> FileState {
        let file = tempfile::NamedTempFile::new().unwrap();
        fs::write(file.path(), content).unwrap();
        FileState::on_disk(file.path()).unwrap()
    }

    /// A file as it was at staging time, or already holding the staged content, is finished.
    #[test]
    fn unchanged_files_are_finished() {
        let root = project(
            &[
                ("kept", state("old"), "new"),
                ("created", FileState::Absent, "new"),
                ("already", state("old"), "new"),
            ],
            &[("kept", "old"), ("already", "new")],
        );
        let written = finish_interrupted(root.path()).unwrap();
        assert_eq!(written, ["kept", "created", "already"]);
        for path in written {
            assert_eq!(fs::read_to_string(root.path().join(path)).unwrap(), "new");
        }
        assert_eq!(
            fs::read_dir(root.path()).unwrap().count(),
            3,
            "folder removed"
        );
    }

    /// One file changed since: nothing is placed, and the error names it.
    #[test]
    fn a_changed_file_stops_the_whole_folder() {
        let root = project(
            &[
                ("kept", state("old"), "new"),
                ("edited", state("old"), "new"),
                ("made", FileState::Absent, "new"),
            ],
            &[("kept", "old"), ("edited", "mine"), ("made", "mine")],
        );
        let err = format!("{:#}", finish_interrupted(root.path()).unwrap_err());
        assert!(err.contains("edited was changed"), "{err}");
        assert!(err.contains("made was created"), "{err}");
        assert!(!err.contains("kept"), "{err}");
        assert_eq!(fs::read_to_string(root.path().join("kept")).unwrap(), "old");
        assert_eq!(
            fs::read_to_string(root.path().join("edited")).unwrap(),
            "mine"
        );
    }
}
