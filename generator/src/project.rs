//! A project on disk: its root, config text, validated model and plan, plus the changeset that
//! brings generated files (and missing service crates) up to date.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::{parse_config, ConfigError, StackrConfig, CONFIG_FILE};
use crate::model::{validate, Model};
use crate::plan::{plan, Plan};
use crate::render::{keep_project_sections, record, render_generated, scaffold, RenderedFile};
use crate::runtime_sources;
use crate::service_manifest::set_runtime_deps;
use crate::workspace::add_members;
use crate::write::Changeset;
use crate::UsageError;

pub struct Project {
    pub root: PathBuf,
    /// The config as the user wrote it.
    pub text: String,
    pub config: StackrConfig,
    pub model: Model,
    pub plan: Plan,
}

/// Loads and validates `<root>/stackr.config.json`, and checks the service crates on disk
/// against it.
pub fn load_project(root: &Path) -> Result<Project, ConfigError> {
    let loaded = stackr_plan::load_planned(root)?;
    crate::state_dir_apart::check(&loaded.model, &loaded.plan, &loaded.label, &loaded.text)?;
    crate::crates_on_disk::check(root, &loaded.config, &loaded.label, &loaded.text)?;
    Ok(Project {
        root: root.to_owned(),
        text: loaded.text,
        config: loaded.config,
        model: loaded.model,
        plan: loaded.plan,
    })
}

/// Parses and validates config text (`file` labels errors).
pub fn check_config_text(file: &Path, text: &str) -> Result<(StackrConfig, Model), ConfigError> {
    let config = parse_config(file, text)?;
    let model = validate(&config, file, text)?;
    Ok((config, model))
}

/// The canonical on-disk form of a config (what `init` writes).
pub fn config_text(config: &StackrConfig) -> String {
    let mut text = serde_json::to_string_pretty(config).expect("configs always serialize");
    text.push('\n');
    text
}

/// The config text `text` (as the user wrote it) with the last service of `config` (which is
/// `text`'s config with that service appended) added after the services already there, laid out
/// like the one before it: the rest of the file, its layout and key order stay as they are. The
/// canonical form ([`config_text`]) when the text has no service to follow or the edit would not
/// read back as `config`; the second value says whether that happened.
pub fn config_text_with_service_added(text: &str, config: &StackrConfig) -> (String, bool) {
    match with_last_service_appended(text, config) {
        Some(edited) => (edited, false),
        None => (config_text(config), true),
    }
}

fn with_last_service_appended(text: &str, config: &StackrConfig) -> Option<String> {
    let (service, before) = config.services.split_last()?;
    let previous = crate::config::JsonPath::root()
        .key("services")
        .index(before.len().checked_sub(1)?);
    let span = crate::config::value_range(text, &previous)?;
    let before_it = line_before(text, span.start);
    let element = laid_out_like(service, text, span.clone())?;
    // On a line of its own (after indentation only), or after the previous one on its line.
    let separator = if before_it.chars().all(|c| c == ' ' || c == '\t') {
        format!("{}{before_it}", newline_of(text))
    } else {
        " ".to_owned()
    };
    let edited = format!(
        "{},{separator}{element}{}",
        &text[..span.end],
        &text[span.end..]
    );
    read_back_as(edited, config)
}

/// The config text `text` (as the user wrote it) with its `runtime` replaced by the one of
/// `config` (which is `text`'s config with another runtime), laid out like the one it replaces:
/// the rest of the file stays as it is. The canonical form ([`config_text`]) when the text names
/// no runtime or the edit would not read back as `config`.
pub fn config_text_with_runtime(text: &str, config: &StackrConfig) -> String {
    let edited = crate::config::value_range(text, &crate::config::JsonPath::root().key("runtime"))
        .and_then(|span| {
            let runtime = laid_out_like(&config.runtime, text, span.clone())?;
            read_back_as(
                format!("{}{runtime}{}", &text[..span.start], &text[span.end..]),
                config,
            )
        });
    edited.unwrap_or_else(|| config_text(config))
}

/// `edited` if it reads back as `config`.
fn read_back_as(edited: String, config: &StackrConfig) -> Option<String> {
    let read_back = parse_config(Path::new(CONFIG_FILE), &edited).ok()?;
    (read_back == *config).then_some(edited)
}

/// The text of `at`'s line before it.
fn line_before(text: &str, at: usize) -> &str {
    let line_start = text[..at].rfind('\n').map_or(0, |newline| newline + 1);
    &text[line_start..at]
}

fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// `value` as JSON laid out like the value at `span` of `text`: on one line if that one is, else
/// as a block indented like it (by the step from its first line's indentation to its second's).
fn laid_out_like(value: &impl serde::Serialize, text: &str, span: Range<usize>) -> Option<String> {
    let sample = text.get(span.clone())?;
    let Some(second) = sample.lines().nth(1) else {
        // A string's line break is escaped in JSON: every line break here is the layout's.
        let pretty = serde_json::to_string_pretty(value).ok()?;
        return Some(pretty.lines().map(str::trim).collect::<Vec<_>>().join(" "));
    };
    let first_line = line_before(text, span.start);
    let indent = &first_line[..first_line.len() - first_line.trim_start().len()];
    let inner = &second[..second.len() - second.trim_start().len()];
    let step = inner
        .strip_prefix(indent)
        .filter(|step| !step.is_empty())
        .unwrap_or("  ");
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(step.as_bytes());
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer).ok()?;
    let pretty = String::from_utf8(out).ok()?;
    Some(pretty.replace('\n', &format!("{}{indent}", newline_of(text))))
}

/// The whole pipeline in memory, from config text to rendered generated files (no I/O): what the
/// benchmark times.
pub fn generate_in_memory(text: &str) -> Result<Vec<RenderedFile>> {
    let (_, model) = check_config_text(Path::new(CONFIG_FILE), text)?;
    render_generated(&plan(&model))
}

/// The folder of service `name`'s crate, relative to the project.
pub fn service_crate_dir(name: &str) -> String {
    format!("services/{name}")
}

/// Files a project's own scaffold created that stackr puts back when they are deleted (never
/// overwritten once they exist: they belong to the user).
const RESTORED_PROJECT_FILES: &[&str] = &["flake.nix"];

/// Everything stackr owns or manages, as it should be on disk: generated files, the vendored
/// runtime crates (when the config vendors them), the record of those two (`stackr.generated`),
/// the crate of every service whose folder is missing, the runtime dependencies of the existing
/// service crates, every service as a workspace member of the root `Cargo.toml` (`cargo_toml`,
/// its current text, if any), and a deleted `flake.nix`.
pub fn regenerate(root: &Path, plan: &Plan, cargo_toml: Option<String>) -> Result<Changeset> {
    let mut changes = Changeset::default();
    // The files stackr owns whole, which the record lists: the vendored runtime (first, so a
    // project on another stackr's runtime is refused before anything else is read), then the
    // generated files.
    let mut owned = vendored_runtime(plan)?;
    let manifest = cargo_toml;
    for service in &plan.services {
        let crate_dir = service_crate_dir(&service.name);
        let dir = root.join(&crate_dir);
        if !dir.exists() {
            add_files(&mut changes, scaffold::service_crate(plan, service)?);
            continue;
        }
        let path = format!("{crate_dir}/Cargo.toml");
        if let Some(folder) = crate::write::linked_folder(root, &path) {
            return Err(crate::UsageError::new(
                format!("cannot read {path}, the manifest of service `{}`: it is under {folder}, a symbolic link, which stackr does not follow", service.name),
                format!("make {folder} a real folder (move in what the link points at), or remove the link to have a new crate scaffolded"),
            )
            .into());
        }
        // Not through a link, as the root manifest (`read_manifest`).
        let text = stackr_plan::regular_file::read_to_string_unlinked(&dir.join("Cargo.toml")).map_err(|err| {
            crate::UsageError::new(
                format!("cannot read {path}, the manifest of service `{}`: {err}", service.name),
                format!("restore it as a regular file (e.g. `git checkout {path}`, or copy in what a link there points at), or move {crate_dir} away to have a new crate scaffolded"),
            )
        })?;
        let edited = set_runtime_deps(&text, &plan.runtime).with_context(|| path.clone())?;
        changes.add(path, edited);
    }
    if let Some(text) = manifest {
        let members: Vec<String> = plan
            .services
            .iter()
            .map(|s| service_crate_dir(&s.name))
            .collect();
        let members: Vec<&str> = members.iter().map(String::as_str).collect();
        changes.add("Cargo.toml", add_members(&text, &members)?);
    }
    for file in scaffold::project_files(plan)? {
        if RESTORED_PROJECT_FILES.contains(&file.path.as_str()) && !root.join(&file.path).exists() {
            changes.add(file.path, file.content);
        }
    }
    let mut generated = render_generated(plan)?;
    keep_project_sections(root, &mut generated)?;
    owned.extend(generated);
    owned.extend(crate::render::fleet_without_placement(root, plan));
    add_files(&mut changes, record::with_record(owned));
    Ok(changes)
}

/// Writes `changes` ([`crate::write::commit`]), then names on stderr the files stackr generates
/// whose edits that replaced (listed in `stackr.generated`, holding neither what stackr last
/// wrote there nor what it writes now); returns the paths written.
pub fn commit_naming_overwritten_edits(root: &Path, changes: &Changeset) -> Result<Vec<String>> {
    let edited = overwritten_edits(root, changes);
    let written = crate::write::commit(root, changes)?;
    warn_overwritten(&edited);
    Ok(written)
}

/// The files among `changes` holding edits that writing `changes` overwrites: files stackr owns
/// whole (listed in `stackr.generated`) that hold neither what the record says stackr last wrote
/// there nor what is about to be written. None without a readable record: nothing can be told
/// apart (`stackr upgrade` says so).
fn overwritten_edits(root: &Path, changes: &Changeset) -> Vec<String> {
    let Ok(Some(record)) = record::read(root) else {
        return Vec::new();
    };
    changes
        .files()
        .filter(|(path, content)| {
            let full = root.join(path);
            *path != record::PATH
                && record.lists(path)
                && std::fs::symlink_metadata(&full).is_ok()
                && !record.wrote(root, path)
                && !crate::write::holds_exactly(&full, content).unwrap_or(false)
        })
        .map(|(path, _)| path.to_owned())
        .collect()
}

/// On stderr, after a write: the files of [`overwritten_edits`], which it replaced.
fn warn_overwritten(edited: &[String]) {
    if edited.is_empty() {
        return;
    }
    eprintln!(
        "warning: {} file(s) stackr generates held edits of yours (they differed from what stackr last wrote there, per {}), now overwritten:",
        edited.len(),
        record::PATH
    );
    for path in edited {
        eprintln!("  {path}");
    }
    eprintln!("  help: stackr rewrites these files from {CONFIG_FILE}: `git diff` shows what the edits were if they were committed; make such changes in the config (or AGENTS.md's user section) instead");
}

/// The runtime crates the project vendors (none unless the config says `vendored`), refused when
/// the config names another stackr version than this one: only its own runtime can be written.
pub fn vendored_runtime(plan: &Plan) -> Result<Vec<RenderedFile>> {
    let Some(version) = &plan.runtime.vendored else {
        return Ok(Vec::new());
    };
    let this = runtime_sources::VERSION;
    if version != this {
        return Err(UsageError::new(
            format!("this project vendors the runtime of stackr {version} (`runtime.vendored` in {CONFIG_FILE}), but this is stackr {this}"),
            format!("run `stackr upgrade` to move the project to the runtime of stackr {this}, or use stackr {version}"),
        )
        .into());
    }
    runtime_sources::vendored_files()
}

pub fn add_files(changes: &mut Changeset, files: Vec<RenderedFile>) {
    for file in files {
        changes.add(file.path, file.content);
    }
}
