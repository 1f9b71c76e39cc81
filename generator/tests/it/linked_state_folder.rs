//! The state folder (`stateDir`), where `stackr dev` keeps databases and dev secrets and which
//! `--reset` empties, and the deployment folder in it, where `stackr secrets` writes the
//! deployment's keys, are real folders of the project. A repository can carry a link in their
//! place (the project's `.gitignore` names `/.stackr/`, a folder, so git commits a link there):
//! through it, `--reset` would delete another folder's contents and the secrets would be written
//! wherever it points. Every command refuses it, naming the link, and touches nothing through it.

use crate::common;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::deploy_secrets::project_in_git;
use common::{edit_config, fixture_config, init_project, tree};

/// What `stackr dev` writes in a state folder's `.gitignore`, which marks it as one `--reset`
/// empties.
pub fn state_marker() -> String {
    stackr_contract::STATE_DIR_GITIGNORE
        .iter()
        .map(|line| format!("{line}\n"))
        .collect()
}

/// A folder outside the project, marked as a state folder (another project's, say), holding data.
fn outside_state_folder() -> tempfile::TempDir {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join(".gitignore"), state_marker()).unwrap();
    std::fs::create_dir(outside.path().join("data")).unwrap();
    std::fs::write(outside.path().join("data/precious"), "another stack's data").unwrap();
    outside
}

/// Runs `stackr dev ARGS` in `root` with no PostgreSQL or Redis on PATH, so that a `stackr dev`
/// that went past its checks stops at its tools instead of starting a stack; returns the exit
/// code and stderr.
fn dev(root: &Path, args: &[&str]) -> (Option<i32>, String) {
    let no_tools = tempfile::tempdir().unwrap();
    let mut dev = Command::new(env!("CARGO_BIN_EXE_stackr"))
        .args(["dev", "--no-tui", "--embedded"])
        .args(args)
        .current_dir(root)
        .env("PATH", no_tools.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while dev.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            dev.kill().unwrap();
            panic!("`stackr dev` still running after a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = dev.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (output.status.code(), stderr)
}

#[test]
fn dev_reset_refuses_a_state_folder_that_is_a_link_and_deletes_nothing_through_it() {
    let (_parent, root) = init_project(&[]);
    let outside = outside_state_folder();
    let before = tree(outside.path());
    symlink(outside.path(), root.join(".stackr")).unwrap();

    let (code, stderr) = dev(&root, &["--reset", "--yes"]);

    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(".stackr") && stderr.contains("symbolic link"),
        "names the link: {stderr}"
    );
    assert_eq!(
        tree(outside.path()),
        before,
        "nothing touched through the link"
    );
}

#[test]
fn dev_refuses_a_link_on_the_way_to_the_state_folder() {
    let (_parent, root) = init_project(&[]);
    edit_config(&root, |config| {
        config["stateDir"] = "local/dev-state".into();
    });
    let outside = tempfile::tempdir().unwrap();
    symlink(outside.path(), root.join("local")).unwrap();

    let (code, stderr) = dev(&root, &[]);

    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("`local`") && stderr.contains("symbolic link"),
        "names the link: {stderr}"
    );
    assert!(
        tree(outside.path()).is_empty(),
        "nothing written through it"
    );
}

#[test]
fn secrets_refuse_a_linked_state_or_deployment_folder_and_write_nothing_through_it() {
    for linked in [".stackr", ".stackr/deploy", ".stackr/deploy/hosts"] {
        let project = project_in_git(&fixture_config("fleet"));
        let outside = tempfile::tempdir().unwrap();
        let link = project.path().join(linked);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        symlink(outside.path(), &link).unwrap();

        let output = common::stackr(project.path(), &["secrets"]);

        let stderr = common::stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{linked}: {stderr}");
        assert!(
            stderr.contains(&format!("`{linked}`")) && stderr.contains("symbolic link"),
            "{linked}: names the link: {stderr}"
        );
        assert!(
            tree(outside.path()).is_empty(),
            "{linked}: nothing written through the link"
        );
    }
}

/// The `secrets` process of the dev stack generated for `config` (what `nix run .#dev` runs
/// through process-compose, with no `stackr dev` check before it).
fn generated_secrets_step(config: &str) -> String {
    let files = stackr::generate_in_memory(config).unwrap();
    let yaml = &files
        .iter()
        .find(|f| f.path == "process-compose.yaml")
        .unwrap()
        .content;
    let compose: serde_json::Value = serde_yaml::from_str(yaml).unwrap();
    compose["processes"]["secrets"]["command"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_generated_secrets_step_refuses_a_linked_state_folder_and_writes_nothing_through_it() {
    let config = r#"{ "name": "linked", "stateDir": "local/dev-state",
      "services": [ { "name": "auth", "kind": "auth" } ] }"#;
    let script = generated_secrets_step(config);
    for linked in ["local", "local/dev-state", "local/dev-state/secrets"] {
        let project = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("marker"), "another folder's file").unwrap();
        let before = tree(outside.path());
        let link = project.path().join(linked);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        symlink(outside.path(), &link).unwrap();

        let output = common::bash(project.path(), &script);

        let stderr = common::stderr(&output);
        assert!(!output.status.success(), "{linked}: {stderr}");
        assert!(
            stderr.contains(linked) && stderr.contains("symbolic link"),
            "{linked}: names the link: {stderr}"
        );
        assert_eq!(
            tree(outside.path()),
            before,
            "{linked}: nothing written through the link"
        );
    }
    // A real state folder is taken as before.
    let project = tempfile::tempdir().unwrap();
    let output = common::bash(project.path(), &script);
    assert!(output.status.success(), "{}", common::stderr(&output));
    assert!(project
        .path()
        .join("local/dev-state/secrets/auth-secret")
        .is_file());
}
