//! `process-compose.yaml`: the dev stack (per service: db-init, postgres, db-setup, redis, api,
//! worker; plus the one-shot `secrets` and `build`). The API's and the worker's processes are
//! named after their binaries, which is how `stackr dev --only` finds a service's programs.

use anyhow::Result;
use serde::Serialize;
use stackr_contract::env as contract;

use super::templates;
use crate::model::ServiceKind;
use crate::plan::{dev_build, dev_postgres, DevOAuth, DevPaths, EnvVar, Plan, Secret};

pub const PATH: &str = "process-compose.yaml";

/// What the template reads of a service: the context is built per render, so it carries
/// nothing else of the plan.
#[derive(Serialize)]
pub(super) struct Service<'a> {
    name: &'a str,
    kind: ServiceKind,
    is_auth: bool,
    port: u16,
    api_bin: &'a str,
    worker_bin: Option<&'a str>,
    db_name: &'a str,
    dev_postgres_port: u16,
    dev_redis_port: u16,
    /// The dev PostgreSQL's Unix socket (its lock file is this path with `.lock`).
    dev_postgres_socket: String,
    dev: &'a DevPaths,
    /// YAML items of the API's and the worker's `environment` (see [`EnvItems`]).
    api_env: Vec<String>,
    worker_env: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct Context<'a> {
    project: &'a str,
    state_dir: &'a str,
    /// The dev secrets folder, in the state folder.
    secrets_dir: String,
    /// Each folder from the project down to the secrets folder, which `secrets` refuses when it
    /// is a symbolic link.
    folders_to_secrets: Vec<String>,
    /// The lines of the state folder's marker `.gitignore`, which `secrets` writes when missing.
    state_gitignore: &'static [&'static str],
    secrets: &'a [Secret],
    oauth: Option<&'a DevOAuth>,
    services: Vec<Service<'a>>,
    /// The auth API's process, which every base service's API waits for.
    auth_api: Option<&'a str>,
    /// What the `build` process builds (`dev_build.rs`).
    build_packages: String,
    /// `max_connections` and `superuser_reserved_connections` of every dev PostgreSQL server.
    postgres_max_connections: u32,
    postgres_reserved_connections: u32,
    /// How the PostgreSQL processes change to the `postgres` user under root.
    as_postgres: &'static str,
    /// The file name of each Redis's Unix socket, in its `dir`.
    redis_socket_file: &'static str,
}

pub fn render(plan: &Plan) -> Result<String> {
    let mut env_items = EnvItems::default();
    let services = plan
        .services
        .iter()
        .map(|s| Service {
            name: &s.name,
            kind: s.kind,
            is_auth: s.is_auth(),
            port: s.port,
            api_bin: &s.api_bin,
            worker_bin: s.worker_bin.as_deref(),
            db_name: &s.db_name,
            dev_postgres_port: s.dev_postgres_port,
            dev_redis_port: s.dev_redis_port,
            dev_postgres_socket: s.dev_postgres_socket(),
            dev: &s.dev,
            // In the order the template writes them: a service's API, then its worker.
            api_env: env_items.of(&s.api_env),
            worker_env: env_items.of(&s.worker_env),
        })
        .collect();
    templates::PROCESS_COMPOSE.render(&Context {
        project: &plan.project,
        state_dir: &plan.state_dir,
        secrets_dir: crate::plan::dev_secrets_dir(&plan.state_dir),
        folders_to_secrets: folders_down_to(&crate::plan::dev_secrets_dir(&plan.state_dir)),
        state_gitignore: stackr_contract::STATE_DIR_GITIGNORE,
        secrets: &plan.secrets,
        oauth: plan.dev_oauth.as_ref(),
        services,
        auth_api: plan
            .services
            .iter()
            .find(|s| s.is_auth())
            .map(|s| s.api_bin.as_str()),
        build_packages: dev_build::packages_argument(),
        postgres_max_connections: dev_postgres::MAX_CONNECTIONS,
        postgres_reserved_connections: dev_postgres::SUPERUSER_RESERVED_CONNECTIONS,
        as_postgres: dev_postgres::AS_POSTGRES_WHEN_ROOT,
        redis_socket_file: crate::plan::DEV_REDIS_SOCKET,
    })
}

/// `a`, `a/b`, `a/b/c` for the `/`-separated folder `a/b/c`.
fn folders_down_to(folder: &str) -> Vec<String> {
    folder
        .match_indices('/')
        .map(|(end, _)| folder[..end].to_owned())
        .chain([folder.to_owned()])
        .collect()
}

/// Writes `environment` entries as YAML items. The values every base service shares, lists of
/// the base services, are written in full once, as YAML anchors, and by alias everywhere after:
/// spelled out in each process, they would make the file grow with the square of the number of
/// services.
#[derive(Default)]
struct EnvItems {
    anchors_written: Vec<&'static str>,
}

impl EnvItems {
    /// The shared variables, and the name of each one's anchor.
    const ANCHORED: [(&'static str, &'static str); 2] = [
        (contract::SERVICE_URLS, "service_urls"),
        (contract::ANONYMOUS_SERVICES, "anonymous_services"),
    ];

    fn of(&mut self, env: &[EnvVar]) -> Vec<String> {
        env.iter()
            .map(|var| {
                let item = serde_json::to_string(&format!("{}={}", var.name, var.value))
                    .expect("strings always serialize");
                let Some(&(_, anchor)) = Self::ANCHORED.iter().find(|(name, _)| *name == var.name)
                else {
                    return item;
                };
                if self.anchors_written.contains(&anchor) {
                    format!("*{anchor}")
                } else {
                    self.anchors_written.push(anchor);
                    format!("&{anchor} {item}")
                }
            })
            .collect()
    }
}
