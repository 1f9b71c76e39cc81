//! `nix/vm-test.nix`: a `pkgs.testers.runNixOSTest` that deploys the stack and curls every API.

use anyhow::Result;
use serde::Serialize;

use super::engine;
use crate::plan::Plan;

pub const PATH: &str = "nix/vm-test.nix";

#[derive(Serialize)]
struct Service<'a> {
    name: &'a str,
    db_name: &'a str,
    /// Database of the next service (cyclically): must refuse this service's role.
    next_db_name: &'a str,
    port: u16,
    worker: bool,
}

#[derive(Serialize)]
struct Context<'a> {
    project: &'a str,
    services: Vec<Service<'a>>,
}

pub fn render(plan: &Plan) -> Result<String> {
    let services = plan
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| Service {
            name: &s.name,
            db_name: &s.db_name,
            next_db_name: &plan.services[(i + 1) % plan.services.len()].db_name,
            port: s.port,
            worker: s.worker_bin.is_some(),
        })
        .collect();
    engine::render(
        "nix/vm-test.nix.tera",
        &Context {
            project: &plan.project,
            services,
        },
    )
}
