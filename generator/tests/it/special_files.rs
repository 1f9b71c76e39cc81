//! A project file that is not a regular file (a link to a device that never ends, a named pipe
//! that blocks whoever opens it; a repository can carry links) is never read: every command ends
//! with a clear answer instead of reading for ever or waiting on the pipe. Nor is a link to a
//! regular file at the path of a file stackr manages: it could lead to any file on the machine,
//! and `--check` prints what it reads there into CI logs.

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

/// What the files outside the project that the links below point at hold; none of it may reach
/// the output (`--check` runs in CI, whose logs are public) or the files stackr writes.
const SECRET_LINE: &str = "SECRET-OUTSIDE-THE-PROJECT";
const SECRET_NOTE: &str = "SECRET-IN-A-USER-SECTION";
/// The value of `SECRET_ENV` in stackr's environment.
const SECRET_ENV: &str = "env-secret-of-the-ci";

/// Runs `stackr ARGS` in `root` with `SECRET_ENV` in its environment (a link to
/// `/proc/self/environ` reads it); its exit code, stdout and stderr.
fn stackr_with_secret_env(root: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_stackr"))
        .args(args)
        .current_dir(root)
        .env_remove("STACKR_TEST_FAIL_AFTER")
        .env("SECRET_ENV", SECRET_ENV)
        .stdin(Stdio::null())
        .output()
        .expect("running stackr");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (output.status.code(), stdout, stderr)
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [SECRET_LINE, SECRET_NOTE, SECRET_ENV] {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

/// A managed file replaced by a link to a regular file (a repository can carry one: to
/// `/proc/self/environ`, to a key elsewhere on the machine) is drift, named as a link: what it
/// points at is not read, so neither the diff on stdout nor the wanted content (AGENTS.md's user
/// section is carried over from the file) shows it, not even when the target holds exactly what
/// stackr writes. `generate` replaces the links with the files it writes, leaving their targets
/// alone.
#[test]
fn a_generated_file_linked_to_a_regular_file_is_drift_and_its_target_is_never_read() {
    let (parent, root) = init_project(&[]);
    let secret = parent.path().join("secret");
    std::fs::write(&secret, format!("{SECRET_LINE}\n")).unwrap();
    // What AGENTS.md holds, with a note in its user section: stackr would write exactly this
    // if it carried the note over from the link's target.
    let agents = std::fs::read_to_string(root.join("AGENTS.md")).unwrap();
    let begin = "<!-- stackr:user-section:begin (kept by stackr generate) -->\n";
    assert!(agents.contains(begin), "{agents}");
    let noted = parent.path().join("notes.md");
    std::fs::write(
        &noted,
        agents.replace(begin, &format!("{begin}{SECRET_NOTE}\n")),
    )
    .unwrap();
    // Exactly what stackr writes there, through a link: still not the file stackr writes.
    let same = parent.path().join("same.yaml");
    std::fs::copy(root.join("process-compose.yaml"), &same).unwrap();
    let links = [
        ("AGENTS.md", noted.clone()),
        ("nix/dev.nix", "/proc/self/environ".into()),
        ("nix/stackr.nix", secret.clone()),
        ("process-compose.yaml", same.clone()),
    ];
    for (file, target) in &links {
        std::fs::remove_file(root.join(file)).unwrap();
        symlink(target, root.join(file)).unwrap();
    }
    let outside_before = [&secret, &noted, &same].map(|path| std::fs::read(path).unwrap());

    let before = tree(&root);
    let (code, stdout, stderr) = stackr_with_secret_env(&root, &["generate", "--check"]);
    assert_no_secret("stdout", &stdout);
    assert_no_secret("stderr", &stderr);
    assert_eq!(code, Some(1), "{stderr}");
    for (file, target) in &links {
        assert!(
            stderr.contains(&format!(
                "modified: {file} (a symbolic link to {}",
                target.display()
            )),
            "{file}: {stderr}"
        );
        assert!(
            !stdout.contains(&format!("a/{file}")),
            "no diff from what the link points at: {stdout}"
        );
    }
    assert!(
        stderr.contains("none for a symbolic link"),
        "says why there is no diff: {stderr}"
    );
    assert_eq!(tree(&root), before, "--check writes nothing");

    let (code, stdout, stderr) = stackr_with_secret_env(&root, &["generate"]);
    assert_no_secret("stdout", &stdout);
    assert_no_secret("stderr", &stderr);
    assert_eq!(code, Some(0), "{stderr}");
    for (file, _) in &links {
        let metadata = std::fs::symlink_metadata(root.join(file)).unwrap();
        assert!(metadata.is_file(), "{file} is still a link");
    }
    for (path, content) in tree(&root) {
        assert_no_secret(
            &path.display().to_string(),
            &String::from_utf8_lossy(&content),
        );
    }
    assert_eq!(
        [&secret, &noted, &same].map(|path| std::fs::read(path).unwrap()),
        outside_before,
        "what the links pointed at is left alone"
    );
    let (code, _, stderr) = stackr_with_secret_env(&root, &["generate", "--check"]);
    assert_eq!(code, Some(0), "{stderr}");
}

/// The config and the manifests stackr edits (the root `Cargo.toml`, a service's) are its input:
/// one that is a link is refused by name, without reading what it points at, so no parse error
/// quotes it and no edit of it lands in the project.
#[test]
fn a_config_or_manifest_linked_to_a_regular_file_is_refused_without_reading_it() {
    for file in [
        "stackr.config.json",
        "Cargo.toml",
        "services/core/Cargo.toml",
    ] {
        // Not TOML (a parse error would quote it), then TOML (an edit of it would be written).
        for content in [
            format!("{SECRET_LINE} = [\n"),
            format!("[package]\nname = \"{SECRET_LINE}\"\n"),
        ] {
            let (parent, root) = init_project(&[]);
            let secret = parent.path().join("secret.toml");
            std::fs::write(&secret, &content).unwrap();
            std::fs::remove_file(root.join(file)).unwrap();
            symlink(&secret, root.join(file)).unwrap();
            assert_every_command_refuses(&root, &[file, "a symbolic link to"]);
            assert_eq!(std::fs::read_to_string(&secret).unwrap(), content);
        }
    }
}

/// A folder on the way to a file stackr reads, replaced by a link to a folder outside the
/// project holding files of the same names, is not read through either: `--check` names the
/// link without a diff of what is there, and a service's manifest there is refused without being
/// quoted.
#[test]
fn a_file_under_a_linked_folder_is_never_read_through_it() {
    let (parent, root) = init_project(&[]);
    let outside = parent.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    for file in ["dev.nix", "stackr.nix"] {
        std::fs::write(outside.join(file), format!("{SECRET_LINE}\n")).unwrap();
    }
    std::fs::remove_dir_all(root.join("nix")).unwrap();
    symlink(&outside, root.join("nix")).unwrap();
    let (code, stdout, stderr) = stackr_with_secret_env(&root, &["generate", "--check"]);
    assert_no_secret("stdout", &stdout);
    assert_no_secret("stderr", &stderr);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("modified: nix/dev.nix (under nix, a symbolic link"),
        "{stderr}"
    );
    std::fs::remove_file(root.join("nix")).unwrap();
    let (code, _, stderr) = stackr_with_secret_env(&root, &["generate"]);
    assert_eq!(code, Some(0), "{stderr}");

    let crate_outside = parent.path().join("crate");
    std::fs::rename(root.join("services/core"), &crate_outside).unwrap();
    std::fs::write(
        crate_outside.join("Cargo.toml"),
        format!("{SECRET_LINE} = [\n"),
    )
    .unwrap();
    symlink(&crate_outside, root.join("services/core")).unwrap();
    assert_every_command_refuses(&root, &["under services/core, a symbolic link"]);
}

/// `generate`, `generate --check` and `add service` in `root` each end with a usage error whose
/// message holds every one of `said`, show no secret and write nothing.
fn assert_every_command_refuses(root: &Path, said: &[&str]) {
    let before = tree(root);
    for args in [
        &["generate"][..],
        &["generate", "--check"],
        &["add", "service", "extra"],
    ] {
        let (code, stdout, stderr) = stackr_with_secret_env(root, args);
        assert_no_secret("stdout", &stdout);
        assert_no_secret("stderr", &stderr);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        // The message may wrap onto the next line.
        let unwrapped = stderr.replace("\n  │ ", " ");
        assert!(
            said.iter().all(|part| unwrapped.contains(part)),
            "{args:?}: {stderr}"
        );
        assert_eq!(tree(root), before, "{args:?}: nothing written");
    }
}
