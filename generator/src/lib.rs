//! stackr: turns one `stackr.config.json` into a reproducible, Nix-driven stack of isolated
//! services.
//!
//! Pipeline: [`config`] (serde, located errors) -> [`model`] (validated) -> [`plan`] (every
//! derived fact once; these three are the `stackr-plan` crate) -> [`render`] (one tera template per artifact, rendered by a lite renderer
//! for tera's subset) -> [`mod@write`] (atomic commit or `--check`). [`commands`] wires them into
//! `init`, `add service` and `generate`.

pub mod cli;
pub mod commands;
pub mod crates_on_disk;
pub mod git_repository;
pub mod project;
pub mod render;
pub mod runtime_sources;
pub mod service_manifest;
pub mod state_dir_apart;
pub mod state_dir_unlinked;
pub mod workspace;
pub mod write;

pub use project::generate_in_memory;
/// The config, its validation and the plan live in their own crate, which lint shares.
pub use stackr_plan::{config, model, plan};

/// A mistake in how stackr was invoked (not a bug, not an I/O failure): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{message}\n  help: {help}")]
pub struct UsageError {
    pub message: String,
    pub help: String,
}

impl UsageError {
    pub fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: help.into(),
        }
    }
}
