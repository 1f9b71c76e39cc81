//! A running stack generated from a plan: every service's PostgreSQL and Redis in their own
//! containers, every API process on the host with the plan's environment.

mod env;
mod process;
mod secrets;
mod start;

use stackr_contract::env as contract;
use std::path::PathBuf;
use std::time::Duration;

use stackr::plan::{GuardSpec, Plan, ServicePlan};
use tempfile::TempDir;

use crate::containers::{PostgresContainer, RedisContainer, ServiceDatabase};
pub use env::{remap_env, PortMap};
pub use process::ServiceProcess;

/// The programs the stack runs: the auth process and the (flavor-parameterised) base service.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub auth: PathBuf,
    pub service: PathBuf,
}

pub struct Stack {
    pub plan: Plan,
    pub services: Vec<RunningService>,
    /// The project root the processes run in (`.stackr/` with the plan's secrets and the logs).
    /// Declared last so it is removed after the processes and containers.
    root: TempDir,
}

/// One service of the stack. Fields drop in order: the process before its containers.
pub struct RunningService {
    pub plan: ServicePlan,
    /// The guard spec of the service's generated scaffold (base services only).
    pub spec: Option<GuardSpec>,
    pub api_port: u16,
    /// The environment the API process was started with.
    pub env: Vec<(String, String)>,
    pub database: ServiceDatabase,
    pub process: ServiceProcess,
    pub postgres: PostgresContainer,
    pub redis: RedisContainer,
}

impl RunningService {
    pub fn name(&self) -> &str {
        &self.plan.name
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.api_port)
    }

    /// Whether the service's guard provisions on a user's first call (its scaffold's `SPEC`).
    pub fn provisions(&self) -> bool {
        self.spec.as_ref().is_some_and(|s| s.provisioning)
    }

    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Stack {
    pub async fn start(plan: Plan, binaries: &Binaries) -> anyhow::Result<Stack> {
        start::start(plan, binaries).await
    }

    pub fn root(&self) -> &std::path::Path {
        self.root.path()
    }

    pub fn service(&self, name: &str) -> &RunningService {
        self.services
            .iter()
            .find(|s| s.name() == name)
            .unwrap_or_else(|| panic!("no service `{name}` in the stack"))
    }

    pub fn service_mut(&mut self, name: &str) -> &mut RunningService {
        self.services
            .iter_mut()
            .find(|s| s.name() == name)
            .unwrap_or_else(|| panic!("no service `{name}` in the stack"))
    }

    pub fn auth(&self) -> &RunningService {
        self.services
            .iter()
            .find(|s| s.plan.is_auth())
            .expect("the fixture has an auth service")
    }

    pub fn base_services(&self) -> impl Iterator<Item = &RunningService> {
        self.services.iter().filter(|s| !s.plan.is_auth())
    }

    /// The base service with the given guard flavor (the fixture has one per flavor).
    pub fn with_flavor(&self, flavor: &str) -> &RunningService {
        self.base_services()
            .find(|s| {
                s.plan
                    .middleware
                    .map(stackr::config::AuthMiddleware::as_str)
                    == Some(flavor)
            })
            .unwrap_or_else(|| panic!("the fixture has no `{flavor}` service"))
    }

    /// The public URL auth runs under (`AUTH_BASE_URL`): browsers' requests carry its origin.
    pub fn auth_origin(&self) -> String {
        self.auth()
            .env_var(contract::AUTH_BASE_URL)
            .expect("auth's env has AUTH_BASE_URL")
            .trim_end_matches('/')
            .to_owned()
    }

    /// The guards' verified-session cache TTL (`SESSION_CACHE_TTL_MS` in the base services' env).
    pub fn session_cache_ttl(&self) -> Duration {
        let ms = self
            .base_services()
            .filter_map(|s| s.env_var(contract::SESSION_CACHE_TTL_MS))
            .filter_map(|v| v.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        Duration::from_millis(ms)
    }

    /// The last lines of every process's log, for failure messages.
    pub fn log_tails(&self, lines: usize) -> String {
        self.services
            .iter()
            .map(|s| format!("--- {} ---\n{}", s.name(), s.process.log_tail(lines)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
