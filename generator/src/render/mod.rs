//! Renderers: one module and one template per generated artifact. Each builds a typed context
//! from the plan (never from raw config) and returns the file text.

mod agents;
mod engine;
mod nix_dev;
mod nix_packages;
mod nix_stackr;
mod nix_vm_test;
mod process_compose;
pub mod scaffold;

use anyhow::Result;

pub use engine::{nix_string_literal, GENERATED_HEADER};

use crate::config::{config_schema_json, SCHEMA_FILE};
use crate::plan::Plan;

/// A file produced in memory, with its path relative to the project root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub path: String,
    pub content: String,
}

impl RenderedFile {
    pub fn new(path: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            content: content.into(),
        }
    }
}

/// Paths of every file `stackr generate` owns (always overwritten, checked by `--check`).
pub const GENERATED_FILES: &[&str] = &[
    process_compose::PATH,
    nix_stackr::PATH,
    nix_packages::PATH,
    nix_vm_test::PATH,
    nix_dev::PATH,
    agents::PATH,
    SCHEMA_FILE,
];

/// Carries the project's own parts of generated files over into `files` (today: the user section
/// of AGENTS.md), so `generate`, `generate --check` and `add service` all treat them alike.
pub fn keep_project_sections(root: &std::path::Path, files: &mut [RenderedFile]) {
    for file in files.iter_mut().filter(|f| f.path == agents::PATH) {
        if let Ok(existing) = std::fs::read_to_string(root.join(agents::PATH)) {
            file.content = agents::keep_user_section(&file.content, &existing);
        }
    }
}

/// Renders every generated artifact, in [`GENERATED_FILES`] order.
pub fn render_generated(plan: &Plan) -> Result<Vec<RenderedFile>> {
    Ok(vec![
        RenderedFile::new(process_compose::PATH, process_compose::render(plan)?),
        RenderedFile::new(nix_stackr::PATH, nix_stackr::render(plan)?),
        RenderedFile::new(nix_packages::PATH, nix_packages::render(plan)?),
        RenderedFile::new(nix_vm_test::PATH, nix_vm_test::render(plan)?),
        RenderedFile::new(nix_dev::PATH, nix_dev::render(plan)?),
        RenderedFile::new(agents::PATH, agents::render(plan)?),
        RenderedFile::new(SCHEMA_FILE, config_schema_json()),
    ])
}
