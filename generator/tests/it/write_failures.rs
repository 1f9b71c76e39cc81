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
        let folder = std::path::absolute(&read_only).unwrap();
        assert!(
            message.contains("Permission denied")
                && message.contains(&format!(
                    "help: check that you may write in {}",
                    folder.display()
                ))
                && message.contains("ls -ld"),
            "{}: {message}",
            read_only.display()
        );
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
