//! Finding and reading a service crate's files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use walkdir::{DirEntry, WalkDir};

use super::config::ConfiguredService;
use super::{Service, SERVICES_DIR};
use crate::finding::Warning;
use crate::rust_source::RustFile;

/// A file's text with its path relative to the project root (the path findings report).
#[derive(Debug, Clone)]
pub struct TextFile {
    pub path: PathBuf,
    pub text: String,
}

impl TextFile {
    pub fn read(root: &Path, relative: &Path) -> Result<TextFile> {
        let text = std::fs::read_to_string(root.join(relative))
            .with_context(|| format!("cannot read {}", root.join(relative).display()))?;
        Ok(TextFile {
            path: relative.to_owned(),
            text,
        })
    }

    pub fn read_optional(root: &Path, relative: &Path) -> Result<Option<TextFile>> {
        if root.join(relative).is_file() {
            Self::read(root, relative).map(Some)
        } else {
            Ok(None)
        }
    }
}

pub(super) fn load_service(
    root: &Path,
    entry: &ConfiguredService,
    dir: PathBuf,
    warnings: &mut Vec<Warning>,
) -> Result<Service> {
    let mut service = Service::without_code(entry, dir.clone());
    service.manifest = TextFile::read_optional(root, &dir.join("Cargo.toml"))?;
    for relative in files_under(root, &dir) {
        let name = relative
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match relative.extension().and_then(|e| e.to_str()) {
            Some("rs") => {
                let file = TextFile::read(root, &relative)?;
                service.rust_files.push(RustFile::parse(file, warnings));
            }
            Some("sql") => service.sql_files.push(TextFile::read(root, &relative)?),
            Some("toml" | "yaml" | "yml" | "json") if name != "Cargo.lock" => {
                service.config_files.push(TextFile::read(root, &relative)?);
            }
            _ if name.starts_with(".env") => {
                service.config_files.push(TextFile::read(root, &relative)?);
            }
            _ => {}
        }
    }
    Ok(service)
}

/// Files of a service crate, relative to the root, in a stable order. Build output and
/// dependencies vendored by tools are not the service's source.
fn files_under(root: &Path, dir: &Path) -> Vec<PathBuf> {
    let skipped = |entry: &DirEntry| {
        entry.depth() > 0
            && entry.file_type().is_dir()
            && matches!(
                entry.file_name().to_str(),
                Some("target" | "node_modules" | ".git")
            )
    };
    WalkDir::new(root.join(dir))
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !skipped(e))
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.path().strip_prefix(root).ok().map(Path::to_owned))
        .collect()
}

/// Crates under `services/` that the config does not mention: still linted, so deleting a
/// service from the config cannot hide its code from the rules.
pub(super) fn unconfigured_service_dirs(
    root: &Path,
    configured: &[ConfiguredService],
) -> Result<Vec<PathBuf>> {
    let known: BTreeSet<&str> = configured.iter().map(|s| s.name.as_str()).collect();
    let services_dir = root.join(SERVICES_DIR);
    if !services_dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(&services_dir)
        .with_context(|| format!("cannot list {}", services_dir.display()))?
    {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().join("Cargo.toml").is_file() && !known.contains(name.as_str()) {
            dirs.push(Path::new(SERVICES_DIR).join(name));
        }
    }
    dirs.sort();
    Ok(dirs)
}
