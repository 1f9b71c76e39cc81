//! `stackr generate [--check]`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::config::printable::escaped;
use crate::config::CONFIG_FILE;
use crate::plan::Plan;
use crate::project::{commit_naming_overwritten_edits, load_project, regenerate};
use crate::write::{drift, left_unfinished, unified_diff, Changeset, Drift};
use crate::UsageError;

/// Exit code of `--check` when files drifted.
pub const DRIFT_EXIT: u8 = 1;

/// The files stackr owns or manages (see [`regenerate`]) that differ from what `plan` wants, and
/// everything `plan` wants written (what they were compared with).
pub fn drifted_files(root: &Path, plan: &Plan) -> Result<(Vec<Drift>, Changeset)> {
    let changes = regenerate(root, plan, read_manifest(root)?)?;
    Ok((drift(root, changes.files()), changes))
}

/// The root `Cargo.toml`, if the project has one. A link there is refused, not followed: the text
/// read is edited into what stackr writes and prints (a diff, a parse error quoting a line), and a
/// link could lead to any file on the machine.
pub(crate) fn read_manifest(root: &Path) -> Result<Option<String>> {
    match stackr_plan::regular_file::read_to_string_unlinked(&root.join("Cargo.toml")) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(UsageError::new(
            format!("cannot read Cargo.toml, the project's workspace manifest: {err}"),
            "restore it as a regular file (e.g. `git checkout Cargo.toml`, or copy in what a link there points at)",
        )
        .into()),
    }
}

/// On stderr: `headline`, then each drifted file on its own line.
pub fn print_drift(headline: &str, drifted: &[Drift]) {
    eprintln!("{headline}");
    for entry in drifted {
        eprintln!("  {entry}");
    }
}

pub fn run(root: &Path, check: bool) -> Result<ExitCode> {
    let project = load_project(root)?;
    if check {
        let (drifted, changes) = drifted_files(root, &project.plan)?;
        // Its files differ from the config until then: the project moves on to that command's
        // result, not back to the config's.
        for staging in left_unfinished(root) {
            eprintln!(
                "note: an interrupted stackr command left {}: the next `stackr generate` finishes it (or refuses, naming why)",
                escaped(&staging)
            );
        }
        if drifted.is_empty() {
            let compared = changes.files().count();
            println!("stackr generate --check: all {compared} generated and managed files are up to date");
            return Ok(ExitCode::SUCCESS);
        }
        print_drift(
            &format!(
                "stackr generate --check: {} generated file(s) differ from {CONFIG_FILE}:",
                drifted.len()
            ),
            &drifted,
        );
        // On stdout, a patch that `git apply` turns into what `generate` would write.
        for (path, wanted) in changes.files() {
            if drifted.contains(&Drift::Modified(path.to_owned())) {
                if let Some(diff) = unified_diff(root, path, wanted) {
                    print!("{diff}");
                }
            }
        }
        let links = drifted
            .iter()
            .any(|entry| matches!(entry, Drift::Link { .. } | Drift::UnderLink { .. }));
        let no_link_diff = if links {
            " (none for a symbolic link: what it points at is not read)"
        } else {
            ""
        };
        eprintln!("the diff of each modified file is on stdout{no_link_diff}; run `stackr generate` to restore them (it rewrites generated files and the vendored runtime crates, registers every service as a workspace member, points the services' Cargo.toml at the configured runtime and scaffolds a service crate whose folder is gone and a deleted flake.nix, leaving the rest of your files alone), then commit the result");
        return Ok(ExitCode::from(DRIFT_EXIT));
    }
    let changes = regenerate(root, &project.plan, read_manifest(root)?)?;
    let written = commit_naming_overwritten_edits(root, &changes)?;
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
