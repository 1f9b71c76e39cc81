//! `nix/dev.nix`: the `apps.dev` program (process-compose with PostgreSQL and Redis on PATH).

use anyhow::Result;
use serde::Serialize;

use super::templates;
use crate::plan::Plan;

pub const PATH: &str = "nix/dev.nix";

#[derive(Serialize)]
pub(super) struct Context<'a> {
    project: &'a str,
}

pub fn render(plan: &Plan) -> Result<String> {
    templates::NIX_DEV.render(&Context {
        project: &plan.project,
    })
}
