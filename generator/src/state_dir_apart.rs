//! The dev state folder (`stateDir`) apart from the project's own files: `stackr dev` keeps
//! databases and secrets there, git-ignores everything in it and `--reset` deletes it, so it
//! must neither be the project nor hold a generated file or a service crate, nor lie inside a
//! folder of sources (a service crate, the vendored runtime or a runtime folder the config names)
//! or the git repository. Folders are compared without regard to case: on a case-insensitive file
//! system (macOS by default) `.GIT` is the repository.

use std::path::Path;

use crate::config::{ConfigError, JsonPath};
use crate::model::{Model, Runtime};
use crate::plan::Plan;
use crate::project::service_crate_dir;
use crate::render::generated_paths;
use stackr_plan::layout::VENDORED_DIR;

/// `label` and `text` are the config's, to locate the error.
pub fn check(model: &Model, plan: &Plan, label: &Path, text: &str) -> Result<(), ConfigError> {
    let state = plan.state_dir.as_str();
    let held = |path: &str| {
        state == "."
            || path == state
            || path
                .strip_prefix(state)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    let mut own_files = generated_paths(plan)
        .map(str::to_owned)
        .chain(plan.services.iter().map(|s| service_crate_dir(&s.name)));
    let inside = |folder: &str| {
        let (state, folder) = (state.to_lowercase(), folder.to_lowercase());
        state == folder
            || state
                .strip_prefix(&folder)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    let runtime_folder = match &model.runtime {
        Runtime::Path(path) => Some(path.trim_start_matches("./").to_owned()),
        _ => None,
    };
    let mut source_folders = [".git", VENDORED_DIR]
        .into_iter()
        .map(str::to_owned)
        .chain(plan.services.iter().map(|s| service_crate_dir(&s.name)))
        .chain(runtime_folder);
    if let Some(folder) = source_folders.find(|folder| inside(folder)) {
        return Err(ConfigError::at_path(
            label,
            text,
            JsonPath::root().key("stateDir"),
            format!(
                "stateDir `{state}` is inside `{folder}`, among the project's own files: `stackr dev` would git-ignore everything in it, and `--reset` would delete it"
            ),
            format!(
                "name a folder of its own, such as `{}`",
                stackr_contract::DEFAULT_STATE_DIR
            ),
        ));
    }
    let Some(path) = own_files.find(|path| held(path)) else {
        return Ok(());
    };
    Err(ConfigError::at_path(
        label,
        text,
        JsonPath::root().key("stateDir"),
        format!(
            "stateDir `{state}` holds `{path}`, one of the project's own files: `stackr dev` would keep its databases and secrets among them, git-ignore them, and `--reset` would delete them"
        ),
        format!(
            "name a folder of its own, such as `{}`",
            stackr_contract::DEFAULT_STATE_DIR
        ),
    ))
}
