//! A project on disk: its root, config text, validated model and plan, plus the changeset that
//! brings generated files (and missing service crates) up to date.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::config::{load_config_file, parse_config, ConfigError, StackrConfig, CONFIG_FILE};
use crate::model::{validate, Model};
use crate::plan::{plan, Plan};
use crate::render::{keep_project_sections, render_generated, scaffold, RenderedFile};
use crate::workspace::add_member;
use crate::write::Changeset;

pub struct Project {
    pub root: PathBuf,
    pub config: StackrConfig,
    pub model: Model,
    pub plan: Plan,
}

/// Loads and validates `<root>/stackr.config.json`.
pub fn load_project(root: &Path) -> Result<Project, ConfigError> {
    let file = root.join(CONFIG_FILE);
    let label = display_path(root, &file);
    let (config, text) = load_config_file(&file).map_err(|err| ConfigError {
        file: label.clone(),
        ..err
    })?;
    let model = validate(&config, &label, &text)?;
    crate::crates_on_disk::check(root, &config, &label, &text)?;
    let plan = plan(&model);
    Ok(Project {
        root: root.to_owned(),
        config,
        model,
        plan,
    })
}

/// Parses and validates config text (`file` labels errors).
pub fn check_config_text(file: &Path, text: &str) -> Result<(StackrConfig, Model), ConfigError> {
    let config = parse_config(file, text)?;
    let model = validate(&config, file, text)?;
    Ok((config, model))
}

/// The canonical on-disk form of a config (what `init` and `add service` write).
pub fn config_text(config: &StackrConfig) -> String {
    let mut text = serde_json::to_string_pretty(config).expect("configs always serialize");
    text.push('\n');
    text
}

/// The whole pipeline in memory, from config text to rendered generated files (no I/O): what the
/// benchmark times.
pub fn generate_in_memory(text: &str) -> Result<Vec<RenderedFile>> {
    let (_, model) = check_config_text(Path::new(CONFIG_FILE), text)?;
    render_generated(&plan(&model))
}

/// Files a project's own scaffold created that stackr puts back when they are deleted (never
/// overwritten once they exist: they belong to the user).
const RESTORED_PROJECT_FILES: &[&str] = &["flake.nix"];

/// Everything stackr owns or manages, as it should be on disk: generated files, the crate of
/// every service whose folder is missing, every service as a workspace member of the root
/// `Cargo.toml` (`cargo_toml`, its current text, if any), and a deleted `flake.nix`.
pub fn regenerate(root: &Path, plan: &Plan, cargo_toml: Option<String>) -> Result<Changeset> {
    let mut changes = Changeset::default();
    let mut manifest = cargo_toml;
    for service in &plan.services {
        if !root.join("services").join(&service.name).exists() {
            add_files(&mut changes, scaffold::service_crate(plan, service)?);
        }
        if let Some(text) = &manifest {
            manifest = Some(add_member(text, &format!("services/{}", service.name))?);
        }
    }
    if let Some(text) = manifest {
        changes.add("Cargo.toml", text);
    }
    for file in scaffold::project_files(plan)? {
        if RESTORED_PROJECT_FILES.contains(&file.path.as_str()) && !root.join(&file.path).exists() {
            changes.add(file.path, file.content);
        }
    }
    let mut generated = render_generated(plan)?;
    keep_project_sections(root, &mut generated);
    add_files(&mut changes, generated);
    Ok(changes)
}

pub fn add_files(changes: &mut Changeset, files: Vec<RenderedFile>) {
    for file in files {
        changes.add(file.path, file.content);
    }
}

/// `root/file` shown relative to the working directory when possible, for error messages.
fn display_path(root: &Path, file: &Path) -> PathBuf {
    if root == Path::new(".") {
        PathBuf::from(CONFIG_FILE)
    } else {
        file.to_owned()
    }
}
