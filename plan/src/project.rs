//! A project's config read from disk, validated and planned: what every reader of a project
//! (the generator, lint, `stackr dev`) starts from.

use std::path::{Path, PathBuf};

use crate::config::{load_config_file, ConfigError, StackrConfig, CONFIG_FILE};
use crate::model::{validate, Model};
use crate::plan::{plan, Plan};

pub struct PlannedConfig {
    pub config: StackrConfig,
    /// The config's text, for locating errors found later (e.g. by the generator's checks).
    pub text: String,
    /// How errors name the config file.
    pub label: PathBuf,
    pub model: Model,
    pub plan: Plan,
}

/// Loads, validates and plans `<root>/stackr.config.json`.
pub fn load_planned(root: &Path) -> Result<PlannedConfig, ConfigError> {
    let file = root.join(CONFIG_FILE);
    let label = if root == Path::new(".") {
        PathBuf::from(CONFIG_FILE)
    } else {
        file.clone()
    };
    let (config, text) = load_config_file(&file).map_err(|err| ConfigError {
        file: label.clone(),
        ..err
    })?;
    let model = validate(&config, &label, &text)?;
    let plan = plan(&model);
    Ok(PlannedConfig {
        config,
        text,
        label,
        model,
        plan,
    })
}
