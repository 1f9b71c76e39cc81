//! A project on a file system mounted read-only (a live system, a container's image, a mount made
//! `ro`): every command that writes in it failed in the system's words only ("Read-only file
//! system (os error 30)"), which say neither where nor what to do. The error names the folder,
//! how to see its mount, and to remount it read-write or move the project.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::write_failure::{flat, stackr_on_a_small_disk, MOUNT_READ_ONLY};
use crate::common::{fixture_config, project_with_config, stackr, stderr};
use crate::deploy_secrets::project_in_git;

/// Runs `stackr ARGS` on a read-only copy of `project`; asserts it failed naming the project's
/// folder as read-only, with what to do. Skips (returns) where no file system can be mounted.
fn assert_read_only_advice(project: &Path, args: &[&str]) {
    let outside = tempfile::tempdir().unwrap();
    // Traversable, as a project's folders are: `stackr dev` run as root refuses a project the
    // `postgres` user cannot enter.
    std::fs::set_permissions(outside.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let prepare = format!(
        "cp -a '{}/.' disk/ || exit 1\n{MOUNT_READ_ONLY}",
        project.display()
    );
    let Some(output) = stackr_on_a_small_disk(outside.path(), &prepare, args) else {
        return;
    };
    let message = flat(&stderr(&output));
    let disk = outside.path().join("disk");
    assert_eq!(output.status.code(), Some(1), "{args:?}: {message}");
    assert!(
        message.contains("Read-only file system")
            && message.contains(&format!(
                "help: {} is on a file system mounted read-only",
                disk.display()
            ))
            && message.contains("findmnt")
            && message.contains("remount"),
        "{args:?}: {message}"
    );
}

#[test]
fn generate_on_a_read_only_mount_says_to_remount_or_move_the_project() {
    let project = project_with_config(&fixture_config("minimal"));
    assert_read_only_advice(project.path(), &["generate"]);
}

#[test]
fn secrets_on_a_read_only_mount_say_to_remount_or_move_the_project() {
    let project = project_in_git(&fixture_config("fleet"));
    assert_read_only_advice(project.path(), &["secrets"]);
}

#[test]
fn dev_on_a_read_only_mount_says_to_remount_or_move_the_project() {
    let project = project_with_config(&fixture_config("minimal"));
    let generated = stackr(project.path(), &["generate"]);
    assert!(generated.status.success(), "{}", stderr(&generated));
    assert_read_only_advice(project.path(), &["dev"]);
}
