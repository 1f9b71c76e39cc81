//! The writers other than a project's commit, `stackr secrets` (the deployment's keys and
//! certificates) and `stackr dev` (its state folder and lock), in a folder stackr may not write in
//! or on a full disk: their errors said only the system's words ("No space left on device (os
//! error 28)", with nothing before it), as the commit's did. They end, as the commit's do, with
//! which folder and what to check or do.

use std::os::unix::fs::PermissionsExt;

use crate::common::write_failure::{flat, stackr_as_a_user, stackr_on_a_small_disk_then, FILL_UP};
use crate::common::{fixture_config, project_with_config, stackr, stderr};
use crate::deploy_secrets::project_in_git;
use crate::linked_state_folder::state_marker;

#[test]
fn secrets_on_a_full_disk_name_the_folder_and_what_to_do() {
    let project = project_in_git(&fixture_config("fleet"));
    let outside = tempfile::tempdir().unwrap();
    let prepare = format!(
        "cp -a '{}/.' disk/ || exit 1\n{FILL_UP}",
        project.path().display()
    );
    // What a failed write leaves behind, named on stderr.
    let leftovers = "find . -name '*.new' -exec echo 'left behind:' {} \\; >&2";
    let Some(output) =
        stackr_on_a_small_disk_then(outside.path(), &prepare, &["secrets"], leftovers)
    else {
        return;
    };
    let message = flat(&stderr(&output));
    assert!(!message.contains("left behind:"), "{message}");
    let disk = outside.path().join("disk");
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(
        message.contains("No space left on device")
            && message.contains(&format!(
                "help: the file system holding {} is full",
                disk.join(".stackr/deploy").display()
            ))
            && message.contains("df -h"),
        "{message}"
    );
}

#[test]
fn a_state_folder_stackr_may_not_write_in_is_named_with_what_to_check() {
    let project = project_with_config(&fixture_config("minimal"));
    let root = project.path();
    let generated = stackr(root, &["generate"]);
    assert!(generated.status.success(), "{}", stderr(&generated));
    // As a `sudo stackr dev` leaves it for the next run as the user: there, not theirs.
    let state = root.join(".stackr");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let Some(output) = stackr_as_a_user(root, &["dev"]) else {
        return;
    };
    let message = flat(&stderr(&output));
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(
        message.contains("Permission denied")
            && message.contains(&format!(
                "help: check that you may write in {}",
                std::path::absolute(&state).unwrap().display()
            ))
            && message.contains("ls -ld"),
        "{message}"
    );
}

/// `stackr dev --reset` run as the developer after a `sudo stackr dev` left data of root's (or of
/// `postgres`) in the state folder: what it may not delete is named with what to check.
#[test]
fn a_reset_that_may_not_delete_names_the_folder_with_what_to_check() {
    let project = project_with_config(&fixture_config("minimal"));
    let root = project.path();
    let generated = stackr(root, &["generate"]);
    assert!(generated.status.success(), "{}", stderr(&generated));
    let state = root.join(".stackr");
    let theirs = state.join("pg");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(state.join(".gitignore"), state_marker()).unwrap();
    std::fs::write(theirs.join("PG_VERSION"), "15\n").unwrap();
    // The state folder the developer's (anyone may write), the data in it not.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let Some(output) = stackr_as_a_user(root, &["dev", "--reset", "--yes"]) else {
        return;
    };
    let message = flat(&stderr(&output));
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(
        message.contains("Permission denied")
            && message.contains(&format!(
                "help: check that you may write in {}",
                std::path::absolute(&theirs).unwrap().display()
            ))
            && message.contains("chown -R"),
        "{message}"
    );
    assert!(theirs.join("PG_VERSION").exists());
}
