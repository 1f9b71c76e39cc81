//! `nix/dev.nix`: the `apps.dev` program (process-compose with PostgreSQL and Redis on PATH).

use anyhow::Result;
use serde::Serialize;

use super::engine;
use crate::plan::Plan;

pub const PATH: &str = "nix/dev.nix";

#[derive(Serialize)]
struct Context<'a> {
    project: &'a str,
}

pub fn render(plan: &Plan) -> Result<String> {
    engine::render(
        "nix/dev.nix.tera",
        &Context {
            project: &plan.project,
        },
    )
}
