//! `stackr generate --check` writes nothing and lists drifted files; `generate` repairs them.

use crate::common;

use common::{init_project, stackr, stderr, stdout, tree};
use sha2::Digest;

#[test]
fn check_reports_modified_and_missing_files() {
    let (_parent, root) = init_project(&[]);
    std::fs::write(root.join("process-compose.yaml"), "tampered\n").unwrap();
    std::fs::remove_file(root.join("nix/vm-test.nix")).unwrap();
    let before = tree(&root);
    let output = stackr(&root, &["generate", "--check"]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("modified: process-compose.yaml"),
        "{message}"
    );
    assert!(message.contains("missing:  nix/vm-test.nix"), "{message}");
    assert!(
        !message.contains("AGENTS.md"),
        "only drifted files are listed: {message}"
    );
    assert_eq!(tree(&root), before, "--check writes nothing");

    let output = stackr(&root, &["generate"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("process-compose.yaml"));
    assert!(stackr(&root, &["generate", "--check"]).status.success());
}

#[test]
fn check_covers_workspace_members_and_scaffolded_files() {
    let (_parent, root) = init_project(&[]);
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        cargo.replace("    \"services/core\",\n", ""),
    )
    .unwrap();
    std::fs::remove_file(root.join("flake.nix")).unwrap();
    std::fs::remove_dir_all(root.join("services/auth")).unwrap();
    let before = tree(&root);
    let output = stackr(&root, &["generate", "--check"]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("modified: Cargo.toml"), "{message}");
    assert!(message.contains("missing:  flake.nix"), "{message}");
    assert!(
        message.contains("missing:  services/auth/src/main.rs"),
        "{message}"
    );
    assert!(
        message.contains("run `stackr generate` to restore"),
        "says how to restore: {message}"
    );
    assert_eq!(tree(&root), before, "--check writes nothing");

    let output = stackr(&root, &["generate"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(cargo.contains("\"services/core\""), "{cargo}");
    assert!(root.join("flake.nix").is_file());
    assert!(root.join("services/auth/src/main.rs").is_file());
    let check = stackr(&root, &["generate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn config_change_is_drift_until_regenerated() {
    let (_parent, root) = init_project(&[]);
    let config = std::fs::read_to_string(root.join("stackr.config.json")).unwrap();
    std::fs::write(
        root.join("stackr.config.json"),
        config.replace("\"port\": 8080", "\"port\": 8090"),
    )
    .unwrap();
    let output = stackr(&root, &["generate", "--check"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("process-compose.yaml"));
    assert!(stderr(&output).contains("nix/stackr.nix"));
}

#[test]
fn generate_is_idempotent() {
    let (_parent, root) = init_project(&[]);
    let before = tree(&root);
    let output = stackr(&root, &["generate"]);
    assert!(output.status.success());
    assert!(stdout(&output).contains("up to date"));
    assert_eq!(tree(&root), before);
}

#[test]
fn the_repository_itself_is_up_to_date() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let output = stackr(repo, &["generate", "--check"]);
    assert!(
        output.status.success(),
        "run `stackr generate` at the repo root: {}",
        stderr(&output)
    );
}

#[test]
fn agents_md_user_section_survives_generate_and_add_service() {
    let (_parent, root) = init_project(&[]);
    let path = root.join("AGENTS.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let begin = "<!-- stackr:user-section:begin (kept by stackr generate) -->";
    let end = "<!-- stackr:user-section:end -->";
    let (head, rest) = text
        .split_once(begin)
        .expect("AGENTS.md has a user section");
    let (_, tail) = rest.split_once(end).unwrap();
    let mine = "\nNever call the payments API from a request handler.\n";
    std::fs::write(&path, format!("{head}{begin}{mine}{end}{tail}")).unwrap();

    // The user's words are not drift, and regenerating keeps them.
    assert!(stackr(&root, &["generate", "--check"]).status.success());
    let output = stackr(&root, &["add", "service", "billing"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(after.contains(mine), "user section lost:\n{after}");
    assert!(
        after.contains("`billing`"),
        "generated part not refreshed:\n{after}"
    );

    // The generated part is still stackr's: editing it is drift, and generate restores it.
    std::fs::write(&path, after.replace("## Services", "## My services")).unwrap();
    assert_eq!(
        stackr(&root, &["generate", "--check"]).status.code(),
        Some(1)
    );
    assert!(stackr(&root, &["generate"]).status.success());
    let repaired = std::fs::read_to_string(&path).unwrap();
    assert!(repaired.contains("## Services") && repaired.contains(mine));
}

/// Notes around user-section markers duplicated or out of order by hand would be cut: stackr
/// keeps what lies between the first begin marker and the end marker after it. `generate` and
/// `add service` refuse instead, naming the marker's line, and leave the file as it is.
#[test]
fn agents_md_with_markers_out_of_place_is_refused_not_cut() {
    const BEGIN: &str = "<!-- stackr:user-section:begin (kept by stackr generate) -->";
    const END: &str = "<!-- stackr:user-section:end -->";
    type Damage = fn(&str) -> String;
    // What is wrong, the marker named (its n-th occurrence, from 0), and the edit.
    let damaged: [(&str, &str, usize, Damage); 3] = [
        ("a second end marker", END, 1, |text| {
            text.replacen(END, &format!("my note\n{END}\nmore of my notes\n{END}"), 1)
        }),
        ("a second begin marker", BEGIN, 1, |text| {
            text.replacen(END, &format!("{BEGIN}\nnested note\n{END}"), 1)
        }),
        (
            "an end marker with no begin marker before it",
            END,
            0,
            |text| text.replacen(BEGIN, "my note where the begin marker was", 1),
        ),
    ];
    for (what, marker, nth, damage) in damaged {
        let (_parent, root) = init_project(&[]);
        let path = root.join("AGENTS.md");
        let edited = damage(&std::fs::read_to_string(&path).unwrap());
        std::fs::write(&path, &edited).unwrap();
        let line = edited
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains(marker))
            .nth(nth)
            .map(|(n, _)| n + 1)
            .unwrap();

        for command in [&["generate"][..], &["add", "service", "billing"]] {
            let output = stackr(&root, command);
            let message = stderr(&output);
            assert_eq!(output.status.code(), Some(2), "{what}: {message}");
            assert!(
                message.contains(&format!("AGENTS.md:{line}")) && message.contains(what),
                "{what}: names the marker's line {line}: {message}"
            );
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                edited,
                "{what}: the notes are left as they are"
            );
        }
    }
}

/// Each modified file comes with a unified diff on stdout, from the file on disk (`a/`) to what
/// `generate` would write (`b/`): read to see what changed, or applied with `git apply`.
#[test]
fn check_prints_a_unified_diff_of_each_modified_file() {
    let (_parent, root) = init_project(&[]);
    let agents = std::fs::read_to_string(root.join("AGENTS.md")).unwrap();
    let first_line = agents.lines().next().unwrap().to_owned();
    std::fs::write(
        root.join("AGENTS.md"),
        agents.replacen(&first_line, "edited by hand", 1),
    )
    .unwrap();
    std::fs::remove_file(root.join("nix/vm-test.nix")).unwrap();

    let output = stackr(&root, &["generate", "--check"]);
    assert_eq!(output.status.code(), Some(1));
    let patch = stdout(&output);
    assert!(
        patch.contains("--- a/AGENTS.md\n+++ b/AGENTS.md\n"),
        "{patch}"
    );
    assert!(patch.contains("\n-edited by hand\n"), "{patch}");
    assert!(patch.contains(&format!("\n+{first_line}\n")), "{patch}");
    assert!(
        !patch.contains("vm-test.nix"),
        "a missing file is listed, not diffed: {patch}"
    );

    // The diff is exact: applied, it restores the file.
    assert_patch_restores(&root, &patch, "AGENTS.md", &agents);
}

/// Applies `patch` (what `--check` printed) with `git apply` in `root`, and checks that `file`
/// then holds `wanted`: the diff is exact.
fn assert_patch_restores(root: &std::path::Path, patch: &str, file: &str, wanted: &str) {
    std::fs::write(root.join("drift.patch"), patch).unwrap();
    let applied = std::process::Command::new("git")
        .args(["apply", "drift.patch"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(applied.status.success(), "{}", stderr(&applied));
    assert_eq!(std::fs::read_to_string(root.join(file)).unwrap(), wanted);
}

/// A generated file edited beyond recognition (here: its lines in reverse order) is told apart
/// from the config's in seconds: a minimal diff of two large, unlike files takes time quadratic in
/// their length (minutes for a stack of 150 services), and `--check` runs in CI. The diff printed
/// is then not the shortest, but it is still exact.
#[test]
fn check_of_a_large_file_rewritten_by_hand_ends_in_seconds() {
    let (_parent, root) = init_project(&[]);
    common::edit_config(&root, |config| {
        let services = config["services"].as_array_mut().unwrap();
        services.extend((0..150).map(|n| serde_json::json!({ "name": format!("s{n}") })));
    });
    let wanted = std::fs::read_to_string(root.join("process-compose.yaml")).unwrap();
    let mut reversed: Vec<&str> = wanted.lines().collect();
    reversed.reverse();
    std::fs::write(
        root.join("process-compose.yaml"),
        reversed.join("\n") + "\n",
    )
    .unwrap();

    let started = std::time::Instant::now();
    let output = stackr(&root, &["generate", "--check"]);
    let took = started.elapsed();

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        took < std::time::Duration::from_secs(45),
        "`generate --check` took {took:?} over a {}-line file",
        reversed.len()
    );
    assert_patch_restores(&root, &stdout(&output), "process-compose.yaml", &wanted);
}

/// `stackr generate --check | head -1`: the reader leaves early, as `head` does. stackr stops
/// quietly, as Unix tools do, instead of panicking with a backtrace.
#[test]
fn a_closed_output_pipe_ends_the_report_quietly() {
    let (_parent, root) = crate::common::init_project(&[]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stackr"))
        .args(["generate", "--check"])
        .current_dir(&root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A service crate whose manifest is gone (deleted, or the folder replaced by a file) is named,
/// with what to do, by `generate --check` and `generate`, never called up to date.
#[test]
fn a_service_crate_without_its_manifest_is_named() {
    let (_parent, root) = common::init_project(&[]);
    std::fs::remove_file(root.join("services/core/Cargo.toml")).unwrap();
    for args in [&["generate", "--check"][..], &["generate"][..]] {
        let output = common::stackr(&root, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let message = common::stderr(&output);
        assert!(
            message.contains("services/core/Cargo.toml") && message.contains("git checkout"),
            "{args:?}: {message}"
        );
    }
    std::fs::remove_dir_all(root.join("services/core")).unwrap();
    std::fs::write(root.join("services/core"), "not a folder").unwrap();
    let output = common::stackr(&root, &["generate", "--check"]);
    assert_eq!(output.status.code(), Some(2));
}

/// `stackr.generated` records the SHA-256 of every file stackr wrote: it is generated like the
/// files it lists, so a stale or missing record is drift.
#[test]
fn check_reports_a_stale_record() {
    let (_parent, root) = init_project(&[]);
    let record = std::fs::read_to_string(root.join("stackr.generated")).unwrap();
    let compose = std::fs::read(root.join("process-compose.yaml")).unwrap();
    let hex: String = sha2::Sha256::digest(&compose)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert!(
        record
            .lines()
            .any(|line| line == format!("sha256:{hex} process-compose.yaml")),
        "{record}"
    );
    assert!(
        record
            .lines()
            .any(|l| l.ends_with(" stackr-runtime/kit/src/lib.rs")),
        "the vendored runtime is recorded: {record}"
    );
    for yours in [
        "stackr.config.json",
        "flake.nix",
        "Cargo.toml",
        "services/core/src/main.rs",
    ] {
        assert!(
            !record.lines().any(|l| l.ends_with(&format!(" {yours}"))),
            "{yours} is the user's: {record}"
        );
    }

    std::fs::write(
        root.join("stackr.generated"),
        record.replace(&hex, &"0".repeat(64)),
    )
    .unwrap();
    let output = stackr(&root, &["generate", "--check"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("modified: stackr.generated"),
        "{}",
        stderr(&output)
    );

    std::fs::remove_file(root.join("stackr.generated")).unwrap();
    let output = stackr(&root, &["generate", "--check"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("missing:  stackr.generated"),
        "{}",
        stderr(&output)
    );
    assert!(stackr(&root, &["generate"]).status.success());
    assert_eq!(
        std::fs::read_to_string(root.join("stackr.generated")).unwrap(),
        record
    );

    // A config change changes the files, and so their record.
    let config = std::fs::read_to_string(root.join("stackr.config.json")).unwrap();
    std::fs::write(
        root.join("stackr.config.json"),
        config.replace("\"port\": 8080", "\"port\": 8090"),
    )
    .unwrap();
    let output = stackr(&root, &["generate", "--check"]);
    assert!(
        stderr(&output).contains("modified: stackr.generated"),
        "{}",
        stderr(&output)
    );
}

/// `generate` rewrites the files it generates, an edit included, but says which held edits: a
/// file that differs from what the record says stackr last wrote there.
#[test]
fn generate_names_the_edits_it_overwrites() {
    let (_parent, root) = init_project(&[]);
    let compose = root.join("process-compose.yaml");
    let mut text = std::fs::read_to_string(&compose).unwrap();
    text.push_str("# my own tweak\n");
    std::fs::write(&compose, text).unwrap();
    // Notes in AGENTS.md's user section are the user's to write: no edit of stackr's output.
    let agents = std::fs::read_to_string(root.join("AGENTS.md")).unwrap();
    let agents = agents.replace(
        "<!-- stackr:user-section:end -->",
        "our note\n<!-- stackr:user-section:end -->",
    );
    std::fs::write(root.join("AGENTS.md"), agents).unwrap();

    let output = stackr(&root, &["generate"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains("held edits of yours") && said.contains("\n  process-compose.yaml\n"),
        "{said}"
    );
    assert!(!said.contains("\n  AGENTS.md\n"), "{said}");

    // A file stackr wrote, stale after a config change, is no edit.
    let config = std::fs::read_to_string(root.join("stackr.config.json")).unwrap();
    let config = config.replace("\"port\": 8080", "\"port\": 8090");
    std::fs::write(root.join("stackr.config.json"), config).unwrap();
    let output = stackr(&root, &["generate"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
}
