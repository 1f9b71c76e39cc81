//! `stackr lint` as the generator wires it: argument parsing, output formats, exit codes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use stackr_lint::{run_with, Args, RULES};

/// Stand-in for the generator's `stackr lint` subcommand.
#[derive(Parser)]
struct Lint {
    #[command(flatten)]
    args: Args,
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Runs with the given command line; returns (exit code, stdout, stderr).
fn lint(command_line: &[&str]) -> (ExitCode, String, String) {
    let args = Lint::try_parse_from(std::iter::once("lint").chain(command_line.iter().copied()))
        .unwrap()
        .args;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_with(&args, &mut out, &mut err).unwrap();
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn list_names_every_rule_with_its_rationale() {
    let (code, out, _) = lint(&["--list"]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(out.lines().count(), RULES.len());
    for rule in RULES {
        let line = out.lines().find(|l| l.starts_with(rule.name)).unwrap();
        assert!(line.ends_with(rule.rationale), "{line}");
    }
    let (_, json, _) = lint(&["--list", "--format", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), RULES.len());
    assert_eq!(listed[0]["name"], RULES[0].name);
}

#[test]
fn findings_print_as_file_line_column_rule_message_and_exit_1() {
    let root = fixture("no-trusted-identity-header");
    let (code, out, err) = lint(&[root.to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(1));
    assert!(!out.is_empty());
    for line in out.lines() {
        let parts: Vec<&str> = line.splitn(5, ':').collect();
        assert_eq!(parts.len(), 5, "{line}");
        assert!(
            Path::new(parts[0]).is_relative() && root.join(parts[0]).is_file(),
            "{line}"
        );
        assert!(parts[1].parse::<usize>().unwrap() > 0 && parts[2].parse::<usize>().unwrap() > 0);
        assert_eq!(parts[3].trim(), "no-trusted-identity-header");
    }
    assert!(
        err.contains(&format!("{} findings", out.lines().count())),
        "{err}"
    );
}

#[test]
fn json_format_carries_findings_and_warnings() {
    let root = fixture("no-auth-tables-outside-auth");
    let (code, out, _) = lint(&["--format", "json", root.to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(1));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for key in ["rule", "file", "line", "column", "message"] {
        assert!(
            !findings[0][key].is_null(),
            "{key} missing in {}",
            findings[0]
        );
    }
    // The unparsable statement in 0002_not_parsed.sql is also reported as a warning.
    let warnings = report["warnings"].as_array().unwrap();
    assert!(warnings
        .iter()
        .any(|w| w["file"].as_str().unwrap().ends_with("0002_not_parsed.sql")));
}

/// A clean run says so, on stderr (a run that printed nothing could as well have checked
/// nothing); stdout, which carries findings, stays empty.
#[test]
fn clean_project_exits_0_and_says_so() {
    let (code, out, err) = lint(&[fixture("pristine").to_str().unwrap()]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(out, "");
    assert_eq!(
        err,
        format!("stackr lint: no findings ({} rules)\n", RULES.len())
    );
}

#[test]
fn unreadable_project_exits_2_with_advice() {
    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = lint(&[empty.path().to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(2));
    assert!(
        err.contains("stackr.config.json") && err.contains("project root"),
        "{err}"
    );

    std::fs::write(
        empty.path().join("stackr.config.json"),
        "{ \"services\": [ }",
    )
    .unwrap();
    let (code, _, err) = lint(&[empty.path().to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(2));
    // The config is named by its path, under a temporary folder that differs every run.
    let project = empty.path().to_str().unwrap();
    insta::assert_snapshot!(err.replace(project, "[project]"));
}

#[test]
fn bad_arguments_are_usage_errors() {
    let error = Lint::try_parse_from(["lint", "--format", "xml"])
        .err()
        .unwrap();
    assert_eq!(error.exit_code(), 2);
}

/// A file name is whatever the repository holds, escape sequences included: printed raw, it would
/// drive the terminal or CI log reading the findings (retitle it, rewrite lines).
#[test]
fn a_file_name_in_a_finding_is_printed_escaped() {
    let project = tempfile::tempdir().unwrap();
    copy_tree(&fixture("no-trusted-identity-header"), project.path());
    let src = project.path().join("services/core/src");
    std::fs::copy(src.join("main.rs"), src.join("ma\u{1b}]0;owned\u{7}in.rs")).unwrap();
    let (code, out, _) = lint(&[project.path().to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(1));
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("ma\\u{1b}]0;owned\\u{7}in.rs:"), "{out}");
}

/// JSON escapes only C0 controls; DEL and the C1 controls (U+009B starts a terminal sequence
/// alone) would reach a terminal or log raw: they are written as `\u` escapes, which read back
/// as the same name.
#[test]
fn a_file_name_in_json_findings_carries_no_raw_control() {
    let project = tempfile::tempdir().unwrap();
    copy_tree(&fixture("no-trusted-identity-header"), project.path());
    let src = project.path().join("services/core/src");
    let name = "ma\u{9b}2J\u{7f}in.rs";
    std::fs::copy(src.join("main.rs"), src.join(name)).unwrap();
    let (code, out, _) = lint(&["--format", "json", project.path().to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(1));
    assert!(
        !out.contains('\u{9b}') && !out.contains('\u{7f}'),
        "{out:?}"
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let files: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert!(
        files.contains(&format!("services/core/src/{name}").as_str()),
        "{files:?}"
    );
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
