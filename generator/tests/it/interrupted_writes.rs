//! The writes a stopped command left (a staging folder past its commit point) are finished by the
//! next writing command, but only as plain files inside the project: a staging folder can also
//! come with a repository (`git add -f`), and one that would write anywhere else is refused whole.

use std::path::{Path, PathBuf};

use crate::common::{init_project, stackr, stderr, tree};

const PLANTED: &str = ".stackr-staging-planted";

/// A list of targets, as the stackr under test writes it: `(index, path)` per staged file.
fn list(entries: &[(usize, &str)]) -> Vec<u8> {
    entries
        .iter()
        .map(|(index, path)| format!("{index}\t{path}\n"))
        .collect::<String>()
        .into_bytes()
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

    plant(&root, b"0\tAGENTS.md", staged);
    assert_refused(&root, &before, "cut short");
    plant(&root, b"AGENTS.md\n", staged);
    assert_refused(&root, &before, "line 1");
    plant(&root, b"0/../../../x\tAGENTS.md\n", staged);
    assert_refused(&root, &before, "does not start with a number");
    plant(&root, b"0\tAGENTS\xff.md\n", staged);
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
