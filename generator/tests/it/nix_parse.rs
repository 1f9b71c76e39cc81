//! Every Nix file stackr emits or ships parses: with the rnix crate always, and with
//! `nix-instantiate --parse` when it is installed.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{fixture_config, FIXTURES};
use stackr::plan::plan;
use stackr::project::check_config_text;
use stackr::render::scaffold;

/// (label, text) of every generated or scaffolded .nix for every fixture.
fn emitted_nix() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for fixture in FIXTURES {
        let text = fixture_config(fixture);
        for file in stackr::generate_in_memory(&text).unwrap() {
            if file.path.ends_with(".nix") {
                files.push((format!("{fixture}/{}", file.path), file.content));
            }
        }
        let (_, model) = check_config_text(Path::new("stackr.config.json"), &text).unwrap();
        for file in scaffold::project_files(&plan(&model)).unwrap() {
            if file.path.ends_with(".nix") {
                files.push((format!("{fixture}/{}", file.path), file.content));
            }
        }
    }
    files
}

/// The hand-written module library and the repo's own flake.
fn shipped_nix() -> Vec<(String, String)> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut paths = vec![repo.join("flake.nix")];
    for entry in std::fs::read_dir(repo.join("modules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "nix") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

fn rnix_errors(text: &str) -> Vec<String> {
    rnix::Root::parse(text)
        .errors()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn rnix_parses_every_nix_file() {
    let files: Vec<_> = emitted_nix().into_iter().chain(shipped_nix()).collect();
    assert!(
        files.len() >= 3 * 5,
        "expected generated and shipped files, got {}",
        files.len()
    );
    for (label, text) in files {
        let errors = rnix_errors(&text);
        assert!(errors.is_empty(), "{label}: {errors:?}");
    }
}

#[test]
fn rnix_rejects_broken_nix() {
    assert!(!rnix_errors("{ a = ; }").is_empty());
}

#[test]
fn nix_instantiate_parses_every_nix_file_when_available() {
    if Command::new("nix-instantiate")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("nix-instantiate not installed: skipped (rnix still checks every file)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (index, (label, text)) in emitted_nix().into_iter().chain(shipped_nix()).enumerate() {
        let file = dir.path().join(format!("{index}.nix"));
        std::fs::write(&file, &text).unwrap();
        let output = Command::new("nix-instantiate")
            .arg("--parse")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{label}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
