//! `nix/stackr.nix`: a NixOS module that only sets `stackr.*` values from the config; the logic
//! lives in the hand-written `modules/`.

use anyhow::Result;
use serde::Serialize;

use super::templates;
use crate::model::{AuthMiddleware, PostgresMode, ServiceKind};
use crate::plan::{EnvVar, Plan};

pub const PATH: &str = "nix/stackr.nix";

#[derive(Serialize)]
pub(super) struct Service<'a> {
    name: &'a str,
    kind: ServiceKind,
    port: u16,
    admin_port: Option<u16>,
    admin_bind: Option<&'a str>,
    middleware: Option<AuthMiddleware>,
    roles: &'a [String],
    worker: bool,
    worker_concurrency: u32,
    redis_port: u16,
    postgres_port: Option<u16>,
    environment: &'a [EnvVar],
}

#[derive(Serialize)]
pub(super) struct Auth<'a> {
    base_url: &'a str,
    trusted_origins: &'a [String],
    oauth_providers: Vec<OAuthProvider<'a>>,
    /// `AUTH_USER_FIELDS`, empty for none.
    user_fields: &'a str,
}

/// `stackr.auth.oauthProviders` entry; its secret file is the module's default.
#[derive(Serialize)]
pub(super) struct OAuthProvider<'a> {
    id: &'a str,
    preset: Option<&'static str>,
    issuer: Option<&'a str>,
    client_id: &'a str,
    scopes: &'a [String],
    team_id: Option<&'a str>,
    key_id: Option<&'a str>,
    trusted_for_account_linking: bool,
}

#[derive(Serialize)]
pub(super) struct Context<'a> {
    state_dir: &'a str,
    postgres_mode: PostgresMode,
    auth: Option<Auth<'a>>,
    services: Vec<Service<'a>>,
}

pub fn render(plan: &Plan) -> Result<String> {
    let auth = plan.services.iter().find(|s| s.is_auth()).map(|s| Auth {
        base_url: s.base_url.as_deref().unwrap_or_default(),
        trusted_origins: &s.trusted_origins,
        oauth_providers: s
            .oauth_providers
            .iter()
            .map(|p| OAuthProvider {
                id: &p.id,
                preset: p.preset.map(stackr_plan::config::OAuthPreset::as_str),
                issuer: p.issuer.as_deref(),
                client_id: &p.client_id,
                scopes: &p.scopes,
                team_id: p.team_id.as_deref(),
                key_id: p.key_id.as_deref(),
                trusted_for_account_linking: p.trusted_for_account_linking,
            })
            .collect(),
        user_fields: &s.user_fields_json,
    });
    let services = plan
        .services
        .iter()
        .map(|s| Service {
            name: &s.name,
            kind: s.kind,
            port: s.port,
            admin_port: s.admin_port,
            admin_bind: s.admin_bind.as_deref(),
            middleware: s.middleware,
            roles: &s.roles,
            worker: s.worker_bin.is_some(),
            worker_concurrency: s.worker_concurrency,
            redis_port: s.deploy_redis_port,
            postgres_port: s.deploy_postgres_port,
            environment: &s.extra_env,
        })
        .collect();
    templates::NIX_STACKR.render(&Context {
        state_dir: &plan.deploy_state_dir,
        postgres_mode: plan.deploy_postgres_mode,
        auth,
        services,
    })
}
