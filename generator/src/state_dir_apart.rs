//! The dev state folder (`stateDir`) apart from the project's own files: `stackr dev` keeps
//! databases and secrets there, git-ignores everything in it and `--reset` deletes it, so it
//! must neither be the project nor hold a generated file or a service crate.

use std::path::Path;

use crate::config::{ConfigError, JsonPath};
use crate::plan::Plan;
use crate::project::service_crate_dir;
use crate::render::generated_paths;

/// `label` and `text` are the config's, to locate the error.
pub fn check(plan: &Plan, label: &Path, text: &str) -> Result<(), ConfigError> {
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
