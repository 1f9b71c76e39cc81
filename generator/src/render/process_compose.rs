//! `process-compose.yaml`: the dev stack (per service: db-init, postgres, db-setup, redis, api,
//! worker; plus the one-shot `secrets` and `build`).

use anyhow::Result;
use serde::Serialize;

use super::engine;
use crate::plan::{Plan, Secret, ServicePlan};

pub const PATH: &str = "process-compose.yaml";

#[derive(Serialize)]
struct Context<'a> {
    project: &'a str,
    state_dir: &'a str,
    secrets: &'a [Secret],
    services: &'a [ServicePlan],
    auth: Option<&'a str>,
}

pub fn render(plan: &Plan) -> Result<String> {
    engine::render(
        "process-compose.yaml.tera",
        &Context {
            project: &plan.project,
            state_dir: &plan.state_dir,
            secrets: &plan.secrets,
            services: &plan.services,
            auth: plan.auth.as_deref(),
        },
    )
}
