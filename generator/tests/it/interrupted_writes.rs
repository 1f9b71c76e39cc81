//! The writes a stopped command left (a staging folder past its commit point) are finished by the
//! next writing command, but only as plain files inside the project: a staging folder can also
//! come with a repository (`git add -f`), and one that would write anywhere else is refused whole.

use std::path::{Path, PathBuf};

use crate::common::{init_project, stackr, stackr_with_env, stderr, tree};

const PLANTED: &str = ".stackr-staging-planted";
/// The first line of a list of targets.
const HEADER: &str = "stackr-targets 2\n";

/// A list of targets, as the stackr under test writes it: `(index, path)` per staged file, each
/// file absent when it was staged.
fn list(entries: &[(usize, &str)]) -> Vec<u8> {
    let lines: String = entries
        .iter()
        .map(|(index, path)| format!("{index}\tabsent\t{path}\n"))
        .collect();
    format!("{HEADER}{lines}").into_bytes()
}

/// [`HEADER`] followed by `lines`.
fn headed(lines: &[u8]) -> Vec<u8> {
    [HEADER.as_bytes(), lines].concat()
}

/// Puts the staging folder [`PLANTED`] in `root`, holding `list` and the staged files
/// `(name, content)`.
fn plant(root: &Path, list: &[u8], staged: &[(&str, &[u8])]) -> PathBuf {
    let staging = root.join(PLANTED);
    std::fs::create_dir(&staging).unwrap();
    std::fs::write(staging.join("targets"), list).unwrap();
    for (name, content) in staged {
        std::fs::write(staging.join(name), content).unwrap();
    }
    staging
}

/// `stackr generate` refuses the planted staging folder, saying what is wrong (`mentions`) and
/// what to do, and writes nothing; the folder is then removed, so the project is as `before`.
fn assert_refused(
    root: &Path,
    before: &std::collections::BTreeMap<PathBuf, Vec<u8>>,
    mentions: &str,
) {
    let output = stackr(root, &["generate"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{mentions}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for wanted in [PLANTED, mentions, "rm -r", "nothing was written"] {
        assert!(err.contains(wanted), "{mentions}: no {wanted:?} in {err}");
    }
    let planted = root.join(PLANTED);
    if planted.is_symlink() {
        std::fs::remove_file(planted).unwrap();
    } else {
        std::fs::remove_dir_all(planted).unwrap();
    }
    assert_eq!(&tree(root), before, "{mentions}: the project changed");
}

/// `..`, an absolute path or a folder linked elsewhere would put a file outside the project (a
/// `~/.bashrc`, say): the staging folder is refused and nothing is written anywhere.
#[test]
fn a_staging_folder_never_writes_outside_the_project() {
    let (parent, root) = init_project(&[]);
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("linked")).unwrap();
    let before = tree(&root);
    let absolute = outside.path().join("abs");
    let cases = [
        ("../escaped".to_owned(), parent.path().join("escaped")),
        (
            "services/../../escaped".to_owned(),
            parent.path().join("escaped"),
        ),
        (absolute.to_str().unwrap().to_owned(), absolute.clone()),
        ("linked/esc".to_owned(), outside.path().join("esc")),
        (
            "linked/deeper/esc".to_owned(),
            outside.path().join("deeper/esc"),
        ),
        (
            ".git/hooks/pre-commit".to_owned(),
            root.join(".git/hooks/pre-commit"),
        ),
    ];
    for (target, landing) in &cases {
        plant(&root, &list(&[(0, target)]), &[("new-0", b"echo owned\n")]);
        assert_refused(&root, &before, target);
        assert!(!landing.exists(), "{target}: written to {landing:?}");
    }
}

/// A list that is not one stackr writes (cut short, not numbered, not UTF-8, far too large), a
/// staged file that is a link or a folder, a list or a staging folder that is a link: each is
/// refused with the folder named, and nothing is written.
#[test]
fn a_staging_folder_stackr_did_not_write_is_refused() {
    let (_parent, root) = init_project(&[]);
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret");
    std::fs::write(&secret, "not the project's").unwrap();
    let before = tree(&root);
    let staged: &[(&str, &[u8])] = &[("new-0", b"planted\n")];

    plant(&root, &headed(b"0\tabsent\tAGENTS.md"), staged);
    assert_refused(&root, &before, "cut short");
    plant(&root, &headed(b"AGENTS.md\n"), staged);
    assert_refused(&root, &before, "line 2");
    plant(&root, &headed(b"0/../../../x\tabsent\tAGENTS.md\n"), staged);
    assert_refused(&root, &before, "does not start with a number");
    plant(&root, &headed(b"0\tsha256:0\tAGENTS.md\n"), staged);
    assert_refused(&root, &before, "has no state");
    plant(&root, &headed(b"0\tabsent\tAGENTS\xff.md\n"), staged);
    assert_refused(&root, &before, "UTF-8");
    plant(&root, &list(&[(0, "AGENTS.md")]).repeat(1_500_000), staged);
    assert_refused(&root, &before, "larger than");

    let staging = plant(&root, &list(&[(0, "stolen.txt")]), &[]);
    std::os::unix::fs::symlink(&secret, staging.join("new-0")).unwrap();
    assert_refused(&root, &before, "not a regular file");
    assert!(secret.exists());

    let staging = plant(&root, &list(&[(0, "AGENTS.md")]), &[]);
    std::fs::create_dir(staging.join("new-0")).unwrap();
    assert_refused(&root, &before, "not a regular file");

    std::fs::write(outside.path().join("list"), list(&[(0, "AGENTS.md")])).unwrap();
    let staging = plant(&root, b"", staged);
    std::fs::remove_file(staging.join("targets")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("list"), staging.join("targets")).unwrap();
    assert_refused(&root, &before, "not a regular file");

    let elsewhere = outside.path().join("staging");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("targets"), list(&[(0, "AGENTS.md")])).unwrap();
    std::fs::write(elsewhere.join("new-0"), "planted\n").unwrap();
    std::os::unix::fs::symlink(&elsewhere, root.join(PLANTED)).unwrap();
    assert_refused(&root, &before, "symbolic link");
    assert!(elsewhere.join("new-0").exists(), "nothing moved out of it");
}

/// The staging folders in `root`.
fn staging_folders(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".stackr-staging-")
        })
        .collect()
}

/// `stackr generate` refuses to finish a stopped command whose files were edited since, naming
/// the edited `files` and the staging folder and saying to delete it; nothing changes. Returns
/// what it printed.
fn assert_edits_kept(root: &Path, files: &[&str]) -> String {
    let edited = tree(root);
    let output = stackr(root, &["generate"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for wanted in files
        .iter()
        .chain(&[".stackr-staging-", "rm -r", "nothing was written"])
    {
        assert!(err.contains(wanted), "no {wanted:?} in {err}");
    }
    assert_eq!(tree(root), edited, "an edit was overwritten");
    err
}

/// `add service` killed before it placed anything, then the user changes a port in the config
/// and adds a dependency to the workspace: finishing the killed command would overwrite both, so
/// it is refused; deleting its staging folder, as told, drops it and keeps the edits.
#[test]
fn edits_made_after_a_killed_command_are_not_overwritten() {
    let (_parent, root) = init_project(&[]);
    let killed = stackr_with_env(
        &root,
        &["add", "service", "wallet"],
        &[("STACKR_TEST_CRASH_AFTER", "0")],
    );
    assert!(!killed.status.success(), "{}", stderr(&killed));
    let config = root.join("stackr.config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("\"port\": 8080", "\"port\": 8090")).unwrap();
    let cargo = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&cargo).unwrap();
    let text = text.replace(
        "[workspace.dependencies]",
        "[workspace.dependencies]\nitoa = \"1\"",
    );
    std::fs::write(&cargo, text).unwrap();

    assert_edits_kept(&root, &["stackr.config.json", "Cargo.toml"]);

    for staging in staging_folders(&root) {
        std::fs::remove_dir_all(staging).unwrap();
    }
    let again = stackr(&root, &["add", "service", "wallet"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let config = std::fs::read_to_string(&config).unwrap();
    assert!(config.contains("\"port\": 8090"), "{config}");
    assert!(config.contains("\"name\": \"wallet\""), "{config}");
    let cargo = std::fs::read_to_string(&cargo).unwrap();
    assert!(cargo.contains("itoa = \"1\""), "{cargo}");
}

/// `generate` killed after placing 3 files: a file it had not placed yet and that the user
/// edited since is named, and the files it did place are not.
#[test]
fn a_killed_generate_does_not_overwrite_a_file_edited_since() {
    let (_parent, root) = init_project(&[]);
    let config = root.join("stackr.config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("\"port\": 8080", "\"port\": 8090")).unwrap();
    let killed = stackr_with_env(&root, &["generate"], &[("STACKR_TEST_CRASH_AFTER", "3")]);
    assert!(!killed.status.success(), "{}", stderr(&killed));
    let [staging] = &staging_folders(&root)[..] else {
        panic!("one staging folder");
    };
    let list = std::fs::read_to_string(staging.join("targets")).unwrap();
    let paths: Vec<&str> = list
        .lines()
        .filter_map(|line| line.rsplit_once('\t'))
        .map(|(_, path)| path)
        .collect();
    assert!(paths.len() > 3, "{list}");
    let unplaced = paths[paths.len() - 1];
    let mut text = std::fs::read(root.join(unplaced)).unwrap();
    text.extend_from_slice(b"\n# mine\n");
    std::fs::write(root.join(unplaced), text).unwrap();

    let err = assert_edits_kept(&root, &[unplaced]);
    for placed in &paths[..3] {
        assert!(
            !err.contains(&format!("- {placed} ")),
            "{placed} was placed: {err}"
        );
    }
}

/// A staging folder of a stackr that did not record what each file held: whether the user
/// changed one since cannot be told, so it is refused with the same advice rather than guessed.
#[test]
fn a_staging_folder_without_what_the_files_held_is_refused() {
    let (_parent, root) = init_project(&[]);
    let before = tree(&root);
    plant(&root, b"0\tAGENTS.md\n", &[("new-0", b"staged\n")]);
    assert_refused(&root, &before, "older stackr");
}
