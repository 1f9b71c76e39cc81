//! `process-compose.yaml`: the dev stack (per service: db-init, postgres, db-setup, redis, api,
//! worker; plus the one-shot `secrets` and `build`). The API's and the worker's processes are
//! named after their binaries, which is how `stackr dev --only` finds a service's programs.

use anyhow::Result;
use serde::Serialize;

use super::engine;
use crate::model::ServiceKind;
use crate::plan::{DevOAuth, DevPaths, EnvVar, Plan, Secret};

pub const PATH: &str = "process-compose.yaml";

/// What the template reads of a service: the context is built per render, so it carries
/// nothing else of the plan.
#[derive(Serialize)]
struct Service<'a> {
    name: &'a str,
    kind: ServiceKind,
    is_auth: bool,
    port: u16,
    api_bin: &'a str,
    worker_bin: Option<&'a str>,
    db_name: &'a str,
    dev_postgres_port: u16,
    dev_redis_port: u16,
    dev: &'a DevPaths,
    api_env: &'a [EnvVar],
    worker_env: &'a [EnvVar],
}

#[derive(Serialize)]
struct Context<'a> {
    project: &'a str,
    state_dir: &'a str,
    secrets: &'a [Secret],
    oauth: Option<&'a DevOAuth>,
    services: Vec<Service<'a>>,
    /// The auth API's process, which every base service's API waits for.
    auth_api: Option<&'a str>,
}

pub fn render(plan: &Plan) -> Result<String> {
    let services = plan
        .services
        .iter()
        .map(|s| Service {
            name: &s.name,
            kind: s.kind,
            is_auth: s.is_auth,
            port: s.port,
            api_bin: &s.api_bin,
            worker_bin: s.worker_bin.as_deref(),
            db_name: &s.db_name,
            dev_postgres_port: s.dev_postgres_port,
            dev_redis_port: s.dev_redis_port,
            dev: &s.dev,
            api_env: &s.api_env,
            worker_env: &s.worker_env,
        })
        .collect();
    engine::render(
        "process-compose.yaml.tera",
        &Context {
            project: &plan.project,
            state_dir: &plan.state_dir,
            secrets: &plan.secrets,
            oauth: plan.dev_oauth.as_ref(),
            services,
            auth_api: plan
                .services
                .iter()
                .find(|s| s.is_auth)
                .map(|s| s.api_bin.as_str()),
        },
    )
}
