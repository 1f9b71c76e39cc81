//! `nix/vm-test.nix`: a `pkgs.testers.runNixOSTest` that deploys the stack, checks readiness and
//! isolation of every service, and that a reboot keeps secrets and data.

use anyhow::Result;
use serde::Serialize;

use super::templates;
use crate::plan::Plan;

pub const PATH: &str = "nix/vm-test.nix";

#[derive(Serialize)]
pub(super) struct Service<'a> {
    name: &'a str,
    db_name: &'a str,
    port: u16,
    worker: bool,
}

#[derive(Serialize)]
pub(super) struct Context<'a> {
    project: &'a str,
    /// Where `stackr.secrets.generate` keeps the secrets: `<stateDir>/secrets` (modules/options.nix).
    secrets_dir: String,
    /// Port of the auth API, when the stack has auth (a session must survive a reboot).
    auth_port: Option<u16>,
    services: Vec<Service<'a>>,
}

pub fn render(plan: &Plan) -> Result<String> {
    let services = plan
        .services
        .iter()
        .map(|s| Service {
            name: &s.name,
            db_name: &s.db_name,
            port: s.port,
            worker: s.worker_bin.is_some(),
        })
        .collect();
    templates::NIX_VM_TEST.render(&Context {
        project: &plan.project,
        secrets_dir: format!("{}/secrets", plan.deploy_state_dir),
        auth_port: plan.services.iter().find(|s| s.is_auth()).map(|s| s.port),
        services,
    })
}
