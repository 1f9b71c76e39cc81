//! The state folder, which `--reset` empties and where the stack keeps its databases and dev
//! secrets, is a real folder of the project. A repository can carry a symbolic link in its place
//! (git commits a link at `.stackr`, which a `.gitignore` naming `/.stackr/` matches only as a
//! folder): through it, `--reset` would empty another folder and the stack would write wherever
//! it leads. The supervisor refuses it itself, naming the link, whoever runs it.

use crate::common;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use common::{write_stack, Supervised};

/// What a state folder's marker `.gitignore` holds, which lets `--reset` empty it.
fn state_marker() -> String {
    stackr_contract::STATE_DIR_GITIGNORE
        .iter()
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Every file and folder under `dir`, with each file's text, sorted.
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            if path.is_dir() {
                pending.push(path);
                found.push((name, String::new()));
            } else {
                found.push((name, std::fs::read_to_string(&path).unwrap_or_default()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn reset_refuses_a_linked_state_folder_and_empties_nothing_through_it() {
    // The state folder a link, a folder on the way to it one, and the dev secrets folder one.
    for (state_dir, linked) in [
        (".stackr", ".stackr"),
        ("local/dev-state", "local"),
        (".stackr", ".stackr/secrets"),
    ] {
        let project = tempfile::tempdir().unwrap();
        let file = write_stack(project.path(), "processes:\n  a:\n    command: \"true\"\n");
        // Another folder, marked as a state folder (another project's, say), holding data.
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join(".gitignore"), state_marker()).unwrap();
        std::fs::create_dir(outside.path().join("data")).unwrap();
        std::fs::write(outside.path().join("data/marker"), "another stack's data").unwrap();
        let before = tree(outside.path());
        let link = project.path().join(linked);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        symlink(outside.path(), &link).unwrap();

        let state_flag = format!("--state-dir={state_dir}");
        let mut reset = Supervised::start(
            &file,
            &["--reset", "--yes", "--stackr-project", &state_flag],
            &[],
        );

        let code = reset.wait(Duration::from_secs(60));
        let stderr = reset.stderr();
        assert_eq!(code, 1, "{linked}: {stderr}");
        assert!(
            stderr.contains(&format!("`{linked}`")) && stderr.contains("symbolic link"),
            "{linked}: names the link: {stderr}"
        );
        assert_eq!(
            tree(outside.path()),
            before,
            "{linked}: nothing touched through the link"
        );
        assert!(link.is_symlink(), "{linked}: the link is left as it is");
    }
}
