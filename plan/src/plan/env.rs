//! Dev environment of each process, exactly as docs/runtime-contract.md pins it. Secrets are
//! always passed as `*_FILE` paths, never as values.

use serde::Serialize;
use stackr_contract::env as contract;

use super::ServicePlan;
use crate::model::Model;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

impl EnvVar {
    pub fn new(name: &str, value: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    Api,
    Worker,
}

/// Verified-session cache TTL the guard uses by default.
const SESSION_CACHE_TTL_MS: &str = "3000";
/// BullMQ's default key prefix.
const QUEUE_PREFIX: &str = "bull";

/// The browser origins auth trusts (its base URL's origin and `trustedOrigins`): base services
/// accept cookie-authenticated state changes from the same pages, and only from them.
fn browser_origins(auth: &crate::model::Service) -> Vec<String> {
    auth.base_url
        .as_deref()
        .and_then(stackr_contract::origin::origin_of)
        .into_iter()
        .chain(auth.trusted_origins.iter().cloned())
        .collect()
}

/// The roles an admin may give besides `user` and `admin`: every role a service declares, sorted
/// and without repeats (the NixOS module computes the same list from its options).
pub fn declared_roles(model: &Model) -> Vec<String> {
    let roles: std::collections::BTreeSet<&String> =
        model.services.iter().flat_map(|s| &s.roles).collect();
    roles.into_iter().cloned().collect()
}

/// `SERVICE_URLS`: every base service's API, for calls from one service to another
/// (`name=http://127.0.0.1:PORT`, comma-separated, in the config's order).
fn service_urls(model: &Model) -> String {
    model
        .services
        .iter()
        .filter(|s| s.kind == crate::model::ServiceKind::Base)
        .map(|s| format!("{}=http://127.0.0.1:{}", s.name, s.port))
        .collect::<Vec<_>>()
        .join(",")
}

/// `ANONYMOUS_SERVICES`: the base services whose APIs authenticate no one, in the config's order.
fn anonymous_services(model: &Model) -> String {
    model
        .services
        .iter()
        .filter(|s| s.kind == crate::model::ServiceKind::Base)
        .filter(|s| s.middleware.unwrap_or_default() == crate::model::AuthMiddleware::None)
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn dev_env(
    service: &ServicePlan,
    model: &Model,
    provision: &[String],
    process: Process,
) -> Vec<EnvVar> {
    let state = &model.state_dir;
    let mut env = vec![EnvVar::new(contract::STACKR_SERVICE, service.name.clone())];
    if process == Process::Api {
        env.extend([
            EnvVar::new(contract::PORT, service.port.to_string()),
            EnvVar::new(contract::LISTEN_ADDRESS, "127.0.0.1"),
        ]);
    }
    env.extend([
        EnvVar::new(
            contract::DATABASE_URL,
            format!(
                "postgres://{db}@127.0.0.1:{port}/{db}",
                db = service.db_name,
                port = service.dev_postgres_port
            ),
        ),
        EnvVar::new(
            contract::DATABASE_PASSWORD_FILE,
            service.dev.db_password_file.clone(),
        ),
        EnvVar::new(
            contract::REDIS_URL,
            // Relative to the project root, where the processes run: the kit makes it absolute.
            format!("redis+unix:{}", service.dev.redis_socket),
        ),
        EnvVar::new(
            contract::REDIS_PASSWORD_FILE,
            service.dev.redis_password_file.clone(),
        ),
        EnvVar::new(contract::RUST_LOG, "info"),
    ]);
    if service.is_auth() {
        env.extend([
            EnvVar::new(
                contract::AUTH_SECRET_FILE,
                format!(
                    "{}/{}",
                    super::secrets::dev_secrets_dir(state),
                    super::secrets::AUTH_SECRET
                ),
            ),
            EnvVar::new(
                contract::AUTH_BASE_URL,
                service.base_url.clone().unwrap_or_default(),
            ),
            EnvVar::new(
                contract::AUTH_TRUSTED_ORIGINS,
                service.trusted_origins.join(","),
            ),
            EnvVar::new(
                contract::AUTH_ADMIN_PORT,
                service.admin_port.unwrap_or_default().to_string(),
            ),
            EnvVar::new(contract::AUTH_PROVISION_SERVICES, provision.join(",")),
            EnvVar::new(contract::AUTH_ROLES, declared_roles(model).join(",")),
            EnvVar::new(
                contract::AUTH_SERVICE_CREDENTIALS_DIR,
                super::secrets::dev_secrets_dir(state),
            ),
            EnvVar::new(contract::AUTH_MAIL_DIR, format!("{state}/mail")),
        ]);
        if let Some(address) = &service.admin_bind {
            env.push(EnvVar::new(contract::AUTH_ADMIN_BIND, address.clone()));
        }
        if model.auth().is_some_and(|a| !a.oauth_providers.is_empty()) {
            env.push(EnvVar::new(
                contract::AUTH_OAUTH_PROVIDERS_FILE,
                super::oauth::dev_file(state),
            ));
        }
        if !service.user_fields_json.is_empty() {
            env.push(EnvVar::new(
                contract::AUTH_USER_FIELDS,
                service.user_fields_json.clone(),
            ));
        }
    } else {
        if let (Some(auth), Some(credential)) = (model.auth(), &service.dev.credential_file) {
            env.extend([
                EnvVar::new(
                    contract::AUTH_URL,
                    format!("http://127.0.0.1:{}", auth.port),
                ),
                EnvVar::new(contract::SERVICE_CREDENTIAL_FILE, credential.clone()),
                EnvVar::new(contract::SESSION_CACHE_TTL_MS, SESSION_CACHE_TTL_MS),
                EnvVar::new(contract::TRUSTED_ORIGINS, browser_origins(auth).join(",")),
            ]);
        }
        env.extend([
            EnvVar::new(contract::SERVICE_URLS, service_urls(model)),
            EnvVar::new(contract::ANONYMOUS_SERVICES, anonymous_services(model)),
            EnvVar::new(contract::STACKR_QUEUE, service.name.clone()),
            EnvVar::new(contract::STACKR_QUEUE_PREFIX, QUEUE_PREFIX),
        ]);
        let pool_size = match process {
            Process::Api => super::dev_postgres::API_POOL_SIZE,
            Process::Worker => super::dev_postgres::WORKER_POOL_SIZE,
        };
        env.push(EnvVar::new(
            contract::DATABASE_POOL_SIZE,
            pool_size.to_string(),
        ));
        if process == Process::Worker {
            env.push(EnvVar::new(
                contract::WORKER_CONCURRENCY,
                service.worker_concurrency.to_string(),
            ));
        }
    }
    env.extend(service.extra_env.iter().cloned());
    env
}
