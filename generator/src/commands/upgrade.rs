//! `stackr upgrade`: moves a project to the runtime crates of the stackr that runs it (vendored
//! into `stackr-runtime/`), from whatever runtime source it had, in one atomic commit. Refused
//! while files stackr manages hold edits, as the upgrade would overwrite them: a file that differs
//! from what this stackr writes but still holds what `stackr.generated` records stackr wrote there
//! is an older stackr's output, not an edit.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::generate::{drifted_files, print_drift, read_manifest};
use crate::cli::USAGE_EXIT;
use crate::config::{RuntimeSource, CONFIG_FILE};
use crate::model::Runtime;
use crate::plan::plan;
use crate::project::{
    check_config_text, config_text_with_runtime, load_project, regenerate, Project,
};
use crate::render::record;
use crate::runtime_sources::{vendored_files, VENDORED_DIR, VERSION};
use crate::write::commit;
use crate::UsageError;

/// `force`: upgrade even when managed files hold edits.
pub fn run(root: &Path, force: bool) -> Result<ExitCode> {
    let project = load_project(root)?;
    if !force && refused_for_edits(root, &project)? {
        return Ok(ExitCode::from(USAGE_EXIT));
    }
    let target = RuntimeSource {
        vendored: Some(VERSION.to_owned()),
        ..RuntimeSource::default()
    };
    let mut config = project.config.clone();
    // A config without `runtime` already has this stackr's (vendored).
    let moves = project.model.runtime != Runtime::Vendored(VERSION.to_owned());
    config.runtime = target;
    let text = config_text_with_runtime(&project.text, &config);
    let (_, model) = check_config_text(Path::new(CONFIG_FILE), &text)
        .map_err(|err| UsageError::new(err.message, err.help))?;
    let mut changes = regenerate(root, &plan(&model), read_manifest(root)?)?;
    if moves {
        // Edited only when the runtime changes, and only there: the file is the user's, its
        // layout included.
        changes.add(CONFIG_FILE, text);
    }
    let written = commit(root, &changes)?;
    let from = describe(&project.model.runtime);
    if written.is_empty() {
        println!("stackr upgrade: the project already has the runtime of stackr {VERSION} ({VENDORED_DIR}/); nothing to do");
    } else {
        println!(
            "stackr upgrade: runtime {from} -> the runtime of stackr {VERSION}, vendored in {VENDORED_DIR}/; wrote {} file(s):",
            written.len()
        );
        for path in written {
            println!("  {path}");
        }
        println!("next: cargo build, then commit the result");
    }
    let leftovers = leftover_files(root)?;
    if !leftovers.is_empty() {
        eprintln!("warning: {} file(s) in {VENDORED_DIR}/ are not part of the runtime of stackr {VERSION} (an older runtime left them); delete them:", leftovers.len());
        for path in leftovers {
            eprintln!("  {path}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether files stackr manages hold edits the upgrade would overwrite; they are named on stderr.
/// A file that differs from what this stackr writes is no edit when it is absent (nothing to
/// lose: a file the older stackr did not write) or still holds what the record says stackr wrote
/// there (the older stackr's own output). Without a record nothing can be told apart.
fn refused_for_edits(root: &Path, project: &Project) -> Result<bool> {
    // This stackr carries only its own runtime: the crates of another version cannot be
    // compared, so the check sees the project as vendoring ours and leaves that folder out.
    let mut current = project.plan.clone();
    let foreign = current
        .runtime
        .vendored
        .as_deref()
        .is_some_and(|v| v != VERSION);
    if foreign {
        current.runtime.vendored = Some(VERSION.to_owned());
    }
    let (mut drifted, _) = drifted_files(root, &current)?;
    if foreign {
        let vendored = format!("{VENDORED_DIR}/");
        drifted.retain(|drift| !drift.path().starts_with(&vendored));
    }
    // The record is rewritten from the files it lists, and read (below) only when needed.
    drifted.retain(|drift| drift.path() != record::PATH && !absent(root, drift.path()));
    if drifted.is_empty() {
        return Ok(false);
    }
    let record = record::read(root)?;
    if let Some(record) = &record {
        drifted.retain(|drift| !record.wrote(root, drift.path()));
        if drifted.is_empty() {
            return Ok(false);
        }
    }
    let count = drifted.len();
    let (headline, help) = match record {
        Some(_) => (
            format!("error: {count} file(s) stackr manages were edited: they differ from what {CONFIG_FILE} generates and from what stackr last wrote there ({}); upgrading would overwrite them:", record::PATH),
            "`stackr generate --check` shows the differences; move your changes out of these files (or restore them with `stackr generate`) and upgrade again, or pass --force to overwrite them".to_owned(),
        ),
        None => (
            format!("error: {count} file(s) stackr manages differ from what {CONFIG_FILE} generates; upgrading would overwrite them:"),
            format!("this project has no {}, the record of what stackr wrote (it was made by a stackr older than the record), so its files cannot be told from edits: `git status` and `git diff` show whether these files hold edits of yours; keep those elsewhere, then pass --force to overwrite the files (the upgrade writes the record, so the next one tells stackr's files from edits)", record::PATH),
        ),
    };
    print_drift(&headline, &drifted);
    eprintln!("  help: {help}");
    Ok(true)
}

/// Whether nothing is at `root/path` (not even a link).
fn absent(root: &Path, path: &str) -> bool {
    matches!(
        std::fs::symlink_metadata(root.join(path)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound
    )
}

/// Files under the vendored folder that this stackr's runtime does not write.
fn leftover_files(root: &Path) -> Result<Vec<String>> {
    let ours: BTreeSet<String> = vendored_files()?.into_iter().map(|f| f.path).collect();
    let mut found = Vec::new();
    let mut pending = vec![root.join(VENDORED_DIR)];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Some(relative) = path.strip_prefix(root).ok().and_then(Path::to_str) {
                if !ours.contains(relative) {
                    found.push(relative.to_owned());
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

fn describe(runtime: &Runtime) -> String {
    match runtime {
        Runtime::Vendored(version) => format!("of stackr {version} (vendored)"),
        Runtime::Path(path) => format!("from path `{path}`"),
        Runtime::Git { url, rev } => format!("from git {url} at {rev}"),
        Runtime::Version(version) => format!("from the registry at `{version}`"),
    }
}
