//! A stackr project's facts, each derived once: [`config`] (the JSON as written, serde with
//! located errors) -> [`model`] (validated) -> [`plan`] (everything derived: ports, names,
//! environments, secrets). The generator renders the plan, lint checks a project against it and
//! `stackr dev` takes its state folder and ports from it; none of them derives a fact again.

pub mod config;
pub mod layout;
pub mod model;
pub mod plan;
mod project;
pub mod regular_file;

pub use project::{load_planned, PlannedConfig};
