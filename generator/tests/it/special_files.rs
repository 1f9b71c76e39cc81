//! A project file that is not a regular file (a link to a device that never ends, a named pipe
//! that blocks whoever opens it; a repository can carry links) is never read: every command ends
//! with a clear answer instead of reading for ever or waiting on the pipe.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{init_project, tree};

/// Long enough for any of these commands on a loaded machine; they take well under a second.
const HANG: Duration = Duration::from_secs(60);

/// Runs `stackr ARGS` in `root`; fails the test if it has not ended within [`HANG`].
fn stackr_ending(root: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackr"))
        .args(args)
        .current_dir(root)
        .env_remove("STACKR_TEST_FAIL_AFTER")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running stackr");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > HANG {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("`stackr {}` still running after {HANG:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (output.status.code(), stderr)
}

enum Special {
    LinkToDevice,
    Pipe,
}

fn replace_with(root: &Path, file: &str, special: &Special) {
    let path = root.join(file);
    std::fs::remove_file(&path).unwrap();
    match special {
        Special::LinkToDevice => symlink("/dev/zero", &path).unwrap(),
        Special::Pipe => {
            let made = Command::new("mkfifo").arg(&path).status().unwrap();
            assert!(made.success());
        }
    }
}

const KINDS: [Special; 2] = [Special::LinkToDevice, Special::Pipe];

#[test]
fn a_generated_file_that_is_not_a_regular_file_is_reported_and_left_to_the_user() {
    for file in ["AGENTS.md", "process-compose.yaml"] {
        for kind in &KINDS {
            let (_parent, root) = init_project(&[]);
            replace_with(&root, file, kind);
            let (code, stderr) = stackr_ending(&root, &["generate", "--check"]);
            assert_eq!(code, Some(1), "{file}: {stderr}");
            assert!(stderr.contains(&format!("modified: {file}")), "{stderr}");

            let before = tree(&root);
            let (code, stderr) = stackr_ending(&root, &["generate"]);
            assert_eq!(code, Some(2), "{file}: {stderr}");
            assert!(
                stderr.contains(&format!("cannot write {file}: not a regular file"))
                    && stderr.contains("delete it"),
                "{stderr}"
            );
            assert_eq!(tree(&root), before, "nothing written");

            std::fs::remove_file(root.join(file)).unwrap();
            let (code, stderr) = stackr_ending(&root, &["generate"]);
            assert_eq!(code, Some(0), "{file}: {stderr}");
            let (code, stderr) = stackr_ending(&root, &["generate", "--check"]);
            assert_eq!(code, Some(0), "{file}: {stderr}");
        }
    }
}

#[test]
fn a_config_or_manifest_that_is_not_a_regular_file_is_refused_by_name() {
    for file in [
        "stackr.config.json",
        "Cargo.toml",
        "services/core/Cargo.toml",
    ] {
        for kind in &KINDS {
            let (_parent, root) = init_project(&[]);
            replace_with(&root, file, kind);
            for args in [
                &["generate"][..],
                &["generate", "--check"],
                &["add", "service", "extra"],
            ] {
                let (code, stderr) = stackr_ending(&root, args);
                assert_ne!(code, Some(0), "{file}, {args:?}: {stderr}");
                assert!(
                    stderr.contains(file) && stderr.contains("not a regular file"),
                    "{file}, {args:?}: {stderr}"
                );
            }
        }
    }
}

/// A folder of the project replaced by a link (a repository can carry one) is not written
/// through: the files stackr writes there would land wherever the link points, outside the
/// project. The command names the link, writes nothing, and works once it is a folder again.
#[test]
fn a_generated_file_under_a_linked_folder_is_refused_by_the_link() {
    let (parent, root) = init_project(&[]);
    let outside = parent.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::remove_dir_all(root.join("nix")).unwrap();
    symlink(&outside, root.join("nix")).unwrap();
    let before = tree(&root);
    let (code, stderr) = stackr_ending(&root, &["generate"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write nix/")
            && stderr.contains("under nix, a symbolic link")
            && stderr.contains("real folder"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "wrote through the link"
    );
    assert_eq!(tree(&root), before, "nothing written");

    std::fs::remove_file(root.join("nix")).unwrap();
    let (code, stderr) = stackr_ending(&root, &["generate"]);
    assert_eq!(code, Some(0), "{stderr}");
}
