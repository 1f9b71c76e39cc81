//! A project stackr may not write in (made by another user, or with sudo) or on a full disk: the
//! error said only the system's words ("Permission denied (os error 13)", "No space left on
//! device") after what stackr was doing. It says which folder, what to check there and what to
//! do, and the project is left as it was.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::write_failure::{flat, stackr_as_a_user, stackr_on_a_small_disk, FILL_UP};
use crate::common::{fixture_config, project_with_config, stackr, stderr, tree};

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `message` (flattened) refuses a write for want of permission, naming `folder` (absolute) and
/// how to see its owner and mode.
fn assert_names_what_to_check(message: &str, folder: &Path) {
    let folder = std::path::absolute(folder).unwrap();
    assert!(
        message.contains("Permission denied")
            && message.contains(&format!(
                "help: check that you may write in {}",
                folder.display()
            ))
            && message.contains("ls -ld"),
        "{}: {message}",
        folder.display()
    );
}

#[test]
fn a_folder_stackr_may_not_write_in_is_named_with_what_to_check() {
    let project = project_with_config(&fixture_config("minimal"));
    let root = project.path();
    let generated = stackr(root, &["generate"]);
    assert!(generated.status.success(), "{}", stderr(&generated));
    let config = std::fs::read_to_string(root.join("stackr.config.json")).unwrap();
    let moved = config.replacen(
        "\"name\": \"core\"",
        "\"name\": \"core\", \"port\": 8090",
        1,
    );
    assert_ne!(moved, config, "the fixture names core");
    std::fs::write(root.join("stackr.config.json"), moved).unwrap();
    // The project's own folder read-only, then only its nix/ folder (the project writable).
    for (read_only, writable) in [(root.to_owned(), None), (root.join("nix"), Some(root))] {
        set_mode(&read_only, 0o555);
        if let Some(writable) = writable {
            set_mode(writable, 0o777);
        }
        let before = tree(root);
        let Some(output) = stackr_as_a_user(root, &["generate"]) else {
            set_mode(&read_only, 0o755);
            return;
        };
        let message = flat(&stderr(&output));
        set_mode(&read_only, 0o755);
        assert_eq!(output.status.code(), Some(1), "{message}");
        assert_names_what_to_check(&message, &read_only);
        assert_eq!(
            tree(root),
            before,
            "the failed generate changed the project"
        );
        // A file whose replacement failed was never touched: there is nothing to restore.
        assert!(
            !message.contains("could not restore") && !message.contains("could not be restored"),
            "{message}"
        );
    }
}

/// `init` makes the project in a hidden folder beside it, which the folder it is run in must let
/// it write: that folder is named, with what to check, as for the project's own folders.
#[test]
fn init_in_a_folder_stackr_may_not_write_in_is_named_with_what_to_check() {
    let parent = tempfile::tempdir().unwrap();
    set_mode(parent.path(), 0o555);
    let output = stackr_as_a_user(parent.path(), &["init", "shop", "--defaults"]);
    set_mode(parent.path(), 0o755);
    let Some(output) = output else {
        eprintln!("cannot run stackr as another user than root here: skipped");
        return;
    };
    let message = flat(&stderr(&output));
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert_names_what_to_check(&message, parent.path());
    // The folder above is no project: nobody is told to make it theirs.
    assert!(!message.contains("chown"), "{message}");
    let left: Vec<_> = std::fs::read_dir(parent.path()).unwrap().collect();
    assert!(left.is_empty(), "init left something: {left:?}");
}

#[test]
fn a_full_disk_is_named_with_what_to_do() {
    let project = tempfile::tempdir().unwrap();
    let disk = project.path().join("disk");
    std::fs::write(
        project.path().join("config.json"),
        fixture_config("minimal"),
    )
    .unwrap();
    let prepare = format!("cp config.json disk/stackr.config.json\n{FILL_UP}");
    let Some(output) = stackr_on_a_small_disk(project.path(), &prepare, &["generate"]) else {
        return;
    };
    let message = flat(&stderr(&output));
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(
        message.contains("No space left on device")
            && message.contains(&format!(
                "help: the file system holding {} is full",
                disk.display()
            ))
            && message.contains("df -h"),
        "{message}"
    );
}

/// The writes a stopped command left are finished by the next writing command, which can meet
/// the same folder it may not write in: it says so as the command's own writes do, and leaves
/// the staging folder for a run that may write.
#[test]
fn finishing_a_stopped_commands_writes_names_the_folder_with_what_to_check() {
    let project = project_with_config(&fixture_config("minimal"));
    let root = project.path();
    let generated = stackr(root, &["generate"]);
    assert!(generated.status.success(), "{}", stderr(&generated));
    let staging = root.join(".stackr-staging-stopped");
    std::fs::create_dir(&staging).unwrap();
    std::fs::write(
        staging.join("targets"),
        "stackr-targets 2\n0\tabsent\tleft-by-a-stopped-command.txt\n",
    )
    .unwrap();
    std::fs::write(staging.join("new-0"), "staged\n").unwrap();
    set_mode(root, 0o555);
    let output = stackr_as_a_user(root, &["generate"]);
    set_mode(root, 0o755);
    let Some(output) = output else {
        return;
    };
    let message = flat(&stderr(&output));
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert_names_what_to_check(&message, root);
    assert!(staging.join("new-0").exists(), "{message}");
}
