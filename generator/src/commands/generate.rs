//! `stackr generate [--check]`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::plan::Plan;
use crate::project::{load_project, regenerate};
use crate::render::{keep_project_sections, render_generated};
use crate::write::{commit, drift, Drift};

/// Exit code of `--check` when files drifted.
pub const DRIFT_EXIT: u8 = 1;

/// The generated files that differ from what `plan` renders, and how many files were compared.
pub fn drifted_files(root: &Path, plan: &Plan) -> Result<(Vec<Drift>, usize)> {
    let mut files = render_generated(plan)?;
    keep_project_sections(root, &mut files);
    Ok((drift(root, &files), files.len()))
}

pub fn run(root: &Path, check: bool) -> Result<ExitCode> {
    let project = load_project(root)?;
    if check {
        let (drifted, compared) = drifted_files(root, &project.plan)?;
        if drifted.is_empty() {
            println!("stackr generate --check: all {compared} generated files are up to date");
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "stackr generate --check: {} generated file(s) differ from stackr.config.json:",
            drifted.len()
        );
        for entry in &drifted {
            eprintln!("  {entry}");
        }
        eprintln!("run `stackr generate` and commit the result");
        return Ok(ExitCode::from(DRIFT_EXIT));
    }
    let cargo_toml = std::fs::read_to_string(root.join("Cargo.toml")).ok();
    let changes = regenerate(root, &project.plan, cargo_toml)?;
    let written = commit(root, &changes)?;
    if written.is_empty() {
        println!("stackr generate: everything is up to date");
    } else {
        println!("stackr generate: wrote {} file(s):", written.len());
        for path in written {
            println!("  {path}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
