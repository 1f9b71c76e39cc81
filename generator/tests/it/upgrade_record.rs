//! `stackr.generated`, the record of what stackr wrote, lets `stackr upgrade` tell the output of
//! an older stackr (a file that still holds what the record says stackr wrote: overwritten) from
//! a hand edit (refused, as any file the record does not vouch for).

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{init_project, set_runtime, stackr, stderr, stdout, tree};
use sha2::{Digest, Sha256};

const RECORD: &str = "stackr.generated";
const USER_BEGIN: &str = "<!-- stackr:user-section:begin (kept by stackr generate) -->";
const USER_END: &str = "<!-- stackr:user-section:end -->";

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// Sets the record's entry for `path` to the SHA-256 of `recorded`, as a stackr that wrote
/// `recorded` there would have.
fn record_entry(root: &Path, path: &str, recorded: &str) {
    let hex: String = Sha256::digest(recorded.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let record = read(root, RECORD);
    let suffix = format!(" {path}");
    assert!(
        record.lines().any(|line| line.ends_with(&suffix)),
        "{path} is not in the record:\n{record}"
    );
    let rewritten: String = record
        .lines()
        .map(|line| {
            if line.ends_with(&suffix) {
                format!("sha256:{hex}{suffix}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(root.join(RECORD), rewritten).unwrap();
}

/// `path` holding `content`, recorded as what stackr wrote: the output of an older stackr.
fn as_an_older_stackr_wrote(root: &Path, path: &str, content: &str) {
    std::fs::write(root.join(path), content).unwrap();
    record_entry(root, path, content);
}

/// A project of an older stackr: another vendored runtime version, as upgrade meets it.
fn older_project() -> (tempfile::TempDir, std::path::PathBuf) {
    let (parent, root) = init_project(&[]);
    set_runtime(&root, serde_json::json!({ "vendored": "0.0.1" }));
    (parent, root)
}

#[test]
fn upgrade_rewrites_what_an_older_stackr_wrote() {
    let (_parent, root) = older_project();
    let old = "# nix/stackr.nix as an older stackr wrote it\n";
    as_an_older_stackr_wrote(&root, "nix/stackr.nix", old);
    // A file the older stackr did not generate: neither on disk nor in its record.
    std::fs::remove_file(root.join("nix/dev.nix")).unwrap();
    let record = read(&root, RECORD);
    let without_dev: String = record
        .lines()
        .filter(|line| !line.ends_with(" nix/dev.nix"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(root.join(RECORD), without_dev).unwrap();

    let upgrade = stackr(&root, &["upgrade"]);
    assert!(upgrade.status.success(), "{}", stderr(&upgrade));
    let said = stdout(&upgrade);
    for path in ["nix/stackr.nix", "nix/dev.nix", RECORD] {
        assert!(
            said.contains(&format!("  {path}\n")),
            "{path} not written: {said}"
        );
    }
    assert_ne!(read(&root, "nix/stackr.nix"), old);
    let check = stackr(&root, &["generate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn upgrade_refuses_files_edited_since_stackr_wrote_them() {
    let (_parent, root) = older_project();
    // The older stackr's own output: not an edit, not named.
    as_an_older_stackr_wrote(&root, "nix/stackr.nix", "# older output\n");
    // Edited after the older stackr wrote it.
    as_an_older_stackr_wrote(&root, "nix/vm-test.nix", "# older output\n");
    std::fs::write(
        root.join("nix/vm-test.nix"),
        "# older output\n# and my edit\n",
    )
    .unwrap();
    // Edited after this stackr wrote it.
    let compose = read(&root, "process-compose.yaml") + "# my edit\n";
    std::fs::write(root.join("process-compose.yaml"), compose).unwrap();
    let before = tree(&root);

    let refused = stackr(&root, &["upgrade"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let message = stderr(&refused);
    for path in ["nix/vm-test.nix", "process-compose.yaml"] {
        assert!(message.contains(&format!("modified: {path}")), "{message}");
    }
    assert!(
        !message.contains("nix/stackr.nix"),
        "what stackr wrote is no edit: {message}"
    );
    assert!(
        message.contains("2 file(s)") && message.contains(RECORD),
        "says the files differ from the record too: {message}"
    );
    assert_eq!(tree(&root), before, "a refused upgrade writes nothing");
}

#[test]
fn without_a_record_upgrade_refuses_and_says_why() {
    let (_parent, root) = older_project();
    std::fs::write(root.join("nix/stackr.nix"), "# older output\n").unwrap();
    std::fs::remove_file(root.join(RECORD)).unwrap();
    let before = tree(&root);

    let refused = stackr(&root, &["upgrade"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let message = stderr(&refused);
    assert!(message.contains("modified: nix/stackr.nix"), "{message}");
    for needle in [
        &format!("no {RECORD}")[..],
        "git diff",
        "git status",
        "--force",
    ] {
        assert!(message.contains(needle), "`{needle}` not said: {message}");
    }
    assert_eq!(tree(&root), before, "a refused upgrade writes nothing");

    let forced = stackr(&root, &["upgrade", "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(root.join(RECORD).is_file(), "the upgrade writes the record");
}

/// A project made before the record whose files are what this stackr writes: the missing record
/// holds no edit, and the upgrade writes it.
#[test]
fn a_missing_record_alone_does_not_stop_the_upgrade() {
    let (_parent, root) = older_project();
    std::fs::remove_file(root.join(RECORD)).unwrap();
    let upgrade = stackr(&root, &["upgrade"]);
    assert!(upgrade.status.success(), "{}", stderr(&upgrade));
    assert!(root.join(RECORD).is_file());
    let check = stackr(&root, &["generate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));
}

/// The user section of AGENTS.md is the user's: writing there is no edit of stackr's output,
/// while an edit of the generated part is.
#[test]
fn notes_in_the_agents_md_user_section_are_not_an_edit() {
    let (_parent, root) = older_project();
    let current = read(&root, "AGENTS.md");
    let (head, rest) = current.split_once(USER_BEGIN).unwrap();
    let (_, tail) = rest.split_once(USER_END).unwrap();
    let older_head = head.replace("## Services", "## Services of an older stackr");
    assert_ne!(older_head, head);
    // The older stackr recorded its AGENTS.md without the user section's content...
    record_entry(
        &root,
        "AGENTS.md",
        &format!("{older_head}{USER_BEGIN}{USER_END}{tail}"),
    );
    // ...and the user wrote notes there since.
    let notes = "\nNever call wallet from core.\n";
    std::fs::write(
        root.join("AGENTS.md"),
        format!("{older_head}{USER_BEGIN}{notes}{USER_END}{tail}"),
    )
    .unwrap();

    let upgrade = stackr(&root, &["upgrade"]);
    assert!(upgrade.status.success(), "{}", stderr(&upgrade));
    let upgraded = read(&root, "AGENTS.md");
    assert!(upgraded.contains(notes), "notes lost:\n{upgraded}");
    assert!(
        !upgraded.contains("older stackr"),
        "generated part not rewritten:\n{upgraded}"
    );

    // Notes written after this stackr's upgrade are no edit either; the generated part is.
    let more = upgraded.replace(
        notes,
        "\nNever call wallet from core, nor core from wallet.\n",
    );
    std::fs::write(root.join("AGENTS.md"), &more).unwrap();
    let again = stackr(&root, &["upgrade"]);
    assert!(again.status.success(), "{}", stderr(&again));
    std::fs::write(
        root.join("AGENTS.md"),
        more.replace("## Services", "## My services"),
    )
    .unwrap();
    let refused = stackr(&root, &["upgrade"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("modified: AGENTS.md"),
        "{}",
        stderr(&refused)
    );
}

/// `stackr ARGS` in `root`, killed after a minute: reading a FIFO or a device would never end.
fn stackr_within_a_minute(root: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackr"))
        .args(args)
        .current_dir(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("stackr {args:?} still ran after a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// A record stackr cannot read is named with what is wrong, never a panic, and nothing is written.
#[test]
fn a_damaged_record_is_named_and_nothing_is_written() {
    let (parent, root) = older_project();
    // An edit, so the upgrade needs the record.
    std::fs::write(root.join("nix/stackr.nix"), "# edited\n").unwrap();
    let record = read(&root, RECORD);
    let mut lines: Vec<&str> = record.lines().collect();
    lines[2] = "sha256:not-hex nix/stackr.nix";
    let damaged = lines.join("\n") + "\n";
    // The same text outside the project: through a link, it is not read, so not quoted.
    let elsewhere = parent.path().join("elsewhere");
    std::fs::write(&elsewhere, &damaged).unwrap();

    for (what, said) in [
        ("a malformed line", "stackr.generated:3:"),
        ("a link to a device", "not a regular file"),
        ("a link to a file", "a symbolic link to"),
        ("a FIFO", "not a regular file"),
        ("a huge file", "too large"),
    ] {
        let path = root.join(RECORD);
        std::fs::remove_file(&path).unwrap();
        match what {
            "a malformed line" => std::fs::write(&path, &damaged).unwrap(),
            "a link to a device" => std::os::unix::fs::symlink("/dev/zero", &path).unwrap(),
            "a link to a file" => std::os::unix::fs::symlink(&elsewhere, &path).unwrap(),
            "a FIFO" => {
                let made = Command::new("mkfifo").arg(&path).status().unwrap();
                assert!(made.success());
            }
            _ => std::fs::write(&path, vec![b'#'; 2 << 20]).unwrap(),
        }
        let refused = stackr_within_a_minute(&root, &["upgrade"]);
        let message = stderr(&refused);
        assert_eq!(refused.status.code(), Some(2), "{what}: {message}");
        assert!(
            message.contains(RECORD) && message.contains(said),
            "{what}: {message}"
        );
        assert!(!message.contains("panicked"), "{what}: {message}");
        if what != "a malformed line" {
            assert!(!message.contains("not-hex"), "{what} was read: {message}");
        }
        assert_eq!(
            read(&root, "nix/stackr.nix"),
            "# edited\n",
            "{what}: nothing written"
        );
    }
}
