//! `stackr upgrade`: moves a project to the runtime crates of the stackr that runs it (vendored
//! into `stackr-runtime/`), from whatever runtime source it had, in one atomic commit. Refused
//! while files stackr manages have drifted, as the upgrade would overwrite those edits.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::generate::{drifted_files, print_drift, read_manifest};
use crate::cli::USAGE_EXIT;
use crate::config::{RuntimeSource, CONFIG_FILE};
use crate::model::Runtime;
use crate::plan::plan;
use crate::project::{check_config_text, config_text, load_project, regenerate};
use crate::runtime_sources::{vendored_files, VENDORED_DIR, VERSION};
use crate::write::commit;
use crate::UsageError;

/// `force`: upgrade even when managed files differ from what the config generates.
pub fn run(root: &Path, force: bool) -> Result<ExitCode> {
    let project = load_project(root)?;
    if !force {
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
        if !drifted.is_empty() {
            print_drift(
                &format!(
                    "error: {} file(s) stackr manages differ from what {CONFIG_FILE} generates; upgrading would overwrite them:",
                    drifted.len()
                ),
                &drifted,
            );
            eprintln!("  help: `stackr generate --check` shows the differences; move your changes out of these files (or restore them with `stackr generate`) and upgrade again, or pass --force to overwrite them");
            return Ok(ExitCode::from(USAGE_EXIT));
        }
    }
    let target = RuntimeSource {
        vendored: Some(VERSION.to_owned()),
        ..RuntimeSource::default()
    };
    let mut config = project.config.clone();
    let moves = config.runtime != target;
    config.runtime = target;
    let text = config_text(&config);
    let (_, model) = check_config_text(Path::new(CONFIG_FILE), &text)
        .map_err(|err| UsageError::new(err.message, err.help))?;
    let mut changes = regenerate(root, &plan(&model), read_manifest(root)?)?;
    if moves {
        // Rewritten only when the runtime changes: the file is the user's, formatting included.
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
