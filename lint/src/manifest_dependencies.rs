//! The dependencies a service's `Cargo.toml` declares, with where each is written and, for path
//! dependencies, where the path lands in the project. Covers `[dependencies]`,
//! `[dev-dependencies]`, `[build-dependencies]`, their `[target.'cfg(…)'.*]` forms, and
//! `{ workspace = true }` entries resolved through the root's `[workspace.dependencies]`.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml_edit::{ImDocument, Item, TableLike};

use crate::finding::Warning;
use crate::paths::resolve;
use crate::project::{Project, TextFile};
use crate::text_position::line_column;

const DEPENDENCY_TABLES: [&str; 4] = [
    "dependencies",
    "dev-dependencies",
    "build-dependencies",
    "dev_dependencies",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The package depended on (`package = …` when renamed, else the key).
    pub package: String,
    /// Where a `path` (own or inherited from the workspace) lands, relative to the root.
    pub path: Option<PathBuf>,
    /// Position of the `path` value when the manifest writes one, else of the key.
    pub path_position: (usize, usize),
    pub key_position: (usize, usize),
}

/// The dependencies of `manifest`, whose crate lives in `crate_dir` (relative to the root).
/// A manifest that does not parse yields a warning instead.
pub fn dependencies(
    project: &Project,
    crate_dir: &Path,
    manifest: &TextFile,
) -> Result<Vec<Dependency>, Warning> {
    let document = ImDocument::parse(manifest.text.as_str()).map_err(|error| {
        let (line, column) = error
            .span()
            .map_or((1, 1), |s| line_column(&manifest.text, s.start));
        Warning {
            file: manifest.path.clone(),
            line,
            column,
            message: format!(
                "Cargo.toml does not parse, dependencies not checked: {}",
                error.message()
            ),
        }
    })?;
    let position =
        |span: Option<Range<usize>>| line_column(&manifest.text, span.map_or(0, |s| s.start));
    let inherited = workspace_dependency_paths(project);
    let mut tables = dependency_tables(document.as_table());
    if let Some(targets) = document.get("target").and_then(Item::as_table_like) {
        for (_, target) in targets.iter() {
            tables.extend(
                target
                    .as_table_like()
                    .map(dependency_tables)
                    .unwrap_or_default(),
            );
        }
    }
    let mut found = Vec::new();
    for table in tables {
        for (key, item) in table.iter() {
            let key_position = position(table.key(key).and_then(toml_edit::Key::span));
            let written_path = item.get("path");
            let inherits = item.get("workspace").and_then(Item::as_bool) == Some(true);
            let path = match written_path.and_then(Item::as_str) {
                Some(path) => Some(resolve(project, crate_dir, path)),
                None if inherits => inherited
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, p)| p.clone()),
                None => None,
            };
            found.push(Dependency {
                package: item
                    .get("package")
                    .and_then(Item::as_str)
                    .unwrap_or(key)
                    .to_owned(),
                path,
                path_position: written_path
                    .and_then(Item::span)
                    .map_or(key_position, |s| position(Some(s))),
                key_position,
            });
        }
    }
    Ok(found)
}

fn dependency_tables(table: &dyn TableLike) -> Vec<&dyn TableLike> {
    DEPENDENCY_TABLES
        .iter()
        .filter_map(|name| table.get(name)?.as_table_like())
        .collect()
}

/// `[workspace.dependencies]` entries with a `path`, resolved from the root.
fn workspace_dependency_paths(project: &Project) -> Vec<(String, PathBuf)> {
    let Some(manifest) = &project.workspace_manifest else {
        return Vec::new();
    };
    let Ok(document) = ImDocument::parse(manifest.text.as_str()) else {
        return Vec::new();
    };
    let Some(dependencies) = document
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(Item::as_table_like)
    else {
        return Vec::new();
    };
    dependencies
        .iter()
        .filter_map(|(key, item)| {
            let path = item.get("path")?.as_str()?;
            Some((key.to_owned(), resolve(project, Path::new(""), path)))
        })
        .collect()
}
