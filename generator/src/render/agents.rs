//! `AGENTS.md`: the invariants of the project, for people and coding agents.

use anyhow::Result;
use serde::Serialize;

use super::engine;
use crate::plan::Plan;

pub const PATH: &str = "AGENTS.md";

#[derive(Serialize)]
struct Service<'a> {
    name: &'a str,
    kind: &'a str,
    middleware: Option<&'a str>,
    port: u16,
}

#[derive(Serialize)]
struct Context<'a> {
    project: &'a str,
    state_dir: &'a str,
    auth: Option<&'a str>,
    services: Vec<Service<'a>>,
    generated: &'a [&'a str],
}

pub fn render(plan: &Plan) -> Result<String> {
    let services = plan
        .services
        .iter()
        .map(|s| Service {
            name: &s.name,
            kind: s.kind,
            middleware: s.middleware,
            port: s.port,
        })
        .collect();
    engine::render(
        "AGENTS.md.tera",
        &Context {
            project: &plan.project,
            state_dir: &plan.state_dir,
            auth: plan.auth.as_deref(),
            services,
            generated: super::GENERATED_FILES,
        },
    )
}
