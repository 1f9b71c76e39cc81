//! Renderers: one module and one template per generated artifact. Each builds a typed context
//! from the plan (never from raw config) and returns the file text.

mod agents;
mod engine;
mod lite;
mod nix_dev;
mod nix_fleet;
mod nix_packages;
mod nix_stackr;
mod nix_vm_test;
mod process_compose;
pub mod record;
pub mod scaffold;
mod templates;

use anyhow::Result;

pub use engine::{
    build_tera, nix_string_literal, parse_lite, tera_only, tera_renders, GENERATED_HEADER,
};
pub use lite::Unsupported;

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

/// A file `stackr generate` owns (always overwritten, checked by `--check`) and its renderer.
pub struct Artifact {
    pub path: &'static str,
    pub render: fn(&Plan) -> Result<String>,
}

/// Every generated artifact, in the order they are rendered and listed.
pub const GENERATED: &[Artifact] = &[
    Artifact {
        path: process_compose::PATH,
        render: process_compose::render,
    },
    Artifact {
        path: nix_stackr::PATH,
        render: nix_stackr::render,
    },
    Artifact {
        path: nix_packages::PATH,
        render: nix_packages::render,
    },
    Artifact {
        path: nix_vm_test::PATH,
        render: nix_vm_test::render,
    },
    Artifact {
        path: nix_dev::PATH,
        render: nix_dev::render,
    },
    Artifact {
        path: agents::PATH,
        render: agents::render,
    },
    Artifact {
        path: SCHEMA_FILE,
        render: |_| Ok(config_schema_json()),
    },
];

/// Carries the project's own parts of generated files over into `files` (today: the user section
/// of AGENTS.md), so `generate`, `generate --check` and `add service` all treat them alike. A link
/// there is not read: what it points at could be any file on the machine, and what is carried over
/// is printed (the diff of `--check`) and written into the project. Markers duplicated or out of
/// order are refused: the notes outside the section kept would be overwritten.
pub fn keep_project_sections(
    root: &std::path::Path,
    files: &mut [RenderedFile],
) -> Result<(), crate::UsageError> {
    for file in files.iter_mut().filter(|f| f.path == agents::PATH) {
        let path = root.join(agents::PATH);
        if let Ok(existing) = stackr_plan::regular_file::read_to_string_unlinked(&path) {
            if let Some((line, fault)) = agents::misplaced_marker(&existing) {
                return Err(crate::UsageError::new(
                    format!(
                        "{}:{line}: {fault}: stackr keeps the notes between one begin marker and the end marker after it, and rewrites the rest of the file, notes outside them included",
                        agents::PATH
                    ),
                    format!(
                        "leave one `{}` line and one `{}` line after it around your notes (delete the others), then run the command again",
                        agents::USER_BEGIN,
                        agents::USER_END
                    ),
                ));
            }
            file.content = agents::keep_user_section(&file.content, &existing);
        }
    }
    Ok(())
}

/// `nix/fleet.nix` of a project whose config no longer places the stack (see
/// `nix_fleet::WITHOUT_PLACEMENT`), when the file is there.
pub fn fleet_without_placement(root: &std::path::Path, plan: &Plan) -> Option<RenderedFile> {
    (plan.fleet.is_none() && root.join(nix_fleet::PATH).exists())
        .then(|| RenderedFile::new(nix_fleet::PATH, nix_fleet::WITHOUT_PLACEMENT.to_owned()))
}

/// The paths of the files [`render_generated`] renders, without rendering them, then the record
/// of what stackr wrote ([`record`]), written with them.
pub fn generated_paths(plan: &Plan) -> impl Iterator<Item = &'static str> {
    let fleet = plan.fleet.as_ref().map(|_| nix_fleet::PATH);
    GENERATED
        .iter()
        .map(|artifact| artifact.path)
        .chain(fleet)
        .chain([record::PATH])
}

/// Renders every generated artifact, in [`GENERATED`] order, then the fleet's file when the
/// stack is placed on several hosts.
pub fn render_generated(plan: &Plan) -> Result<Vec<RenderedFile>> {
    let mut files = GENERATED
        .iter()
        .map(|artifact| Ok(RenderedFile::new(artifact.path, (artifact.render)(plan)?)))
        .collect::<Result<Vec<_>>>()?;
    if let Some(fleet) = &plan.fleet {
        files.push(RenderedFile::new(
            nix_fleet::PATH,
            nix_fleet::render(fleet)?,
        ));
    }
    Ok(files)
}
