//! `no-foreign-database`: each service reaches only its own PostgreSQL and Redis, through the
//! `DATABASE_URL` / `REDIS_URL` it is given. Reading another service's environment
//! (`WALLET_DATABASE_URL`, auth's `AUTH_SECRET_FILE`) or hard-coding another service's address
//! (its dev port, its database name, its password file) breaks that isolation, and on NixOS it
//! would be refused anyway: only the owner's role may connect.

use stackr_contract::env::{self, Scope};

use super::{finding, Rule};
use crate::connection_strings::{addresses_in, Address, Store};
use crate::env_reads::variable_literals;
use crate::finding::LintReport;
use crate::project::{Project, Service};
use crate::text_position::line_column;

pub const RULE: Rule = Rule {
    name: NAME,
    rationale: "a service uses only its own PostgreSQL/Redis via DATABASE_URL/REDIS_URL; another service's env, address or secrets are off limits",
    check,
};

const NAME: &str = "no-foreign-database";

/// Variables of the runtime contract every service may read, even when one of them starts
/// with another service's name (`AUTH_URL` and a service called `auth`, `SESSION_…` and a
/// service called `session`).
fn is_service_variable(name: &str) -> bool {
    env::read_by(&[Scope::Every, Scope::Api, Scope::Base, Scope::Worker]).any(|v| v.name == name)
}

/// The auth service's own variables (its secret, SMTP password, the other services'
/// credentials): whatever auth is called, a base service has no business with them.
fn is_auth_variable(name: &str) -> bool {
    env::read_by(&[Scope::Auth]).any(|v| v.name == name)
}

fn check(project: &Project, report: &mut LintReport) {
    for service in &project.services {
        for file in &service.rust_files {
            for literal in variable_literals(&file.tokens) {
                if let Some(message) = foreign_variable(project, service, &literal.value) {
                    report.findings.push(finding(
                        NAME,
                        &file.path,
                        (literal.line, literal.column),
                        message,
                    ));
                }
            }
            for literal in file.string_literals() {
                for (offset, message) in foreign_addresses(project, service, &literal.value) {
                    report.findings.push(finding(
                        NAME,
                        &file.path,
                        literal.position_of(offset),
                        message,
                    ));
                }
            }
        }
        for file in &service.config_files {
            for (offset, message) in foreign_addresses(project, service, &file.text) {
                report.findings.push(finding(
                    NAME,
                    &file.path,
                    line_column(&file.text, offset),
                    message,
                ));
            }
        }
    }
}

/// An environment variable name (or an `envy::prefixed` prefix) that belongs to another
/// service.
fn foreign_variable(project: &Project, service: &Service, text: &str) -> Option<String> {
    if is_service_variable(text) {
        return None;
    }
    if !service.is_auth() && is_auth_variable(text) {
        return Some(format!(
            "service `{}` reads `{text}`, a variable of the auth service; base services know auth \
             only through AUTH_URL and SERVICE_CREDENTIAL_FILE",
            service.name
        ));
    }
    // The longest matching prefix decides, so `CORE_BILLING_…` belongs to `core-billing`, not `core`.
    let owner = project
        .services
        .iter()
        .filter(|s| text.starts_with(&s.env_prefix()))
        .max_by_key(|s| s.env_prefix().len())?;
    let what = if text.ends_with('_') {
        format!("the environment variables prefixed `{text}`")
    } else {
        format!("`{text}`, an environment variable")
    };
    (owner.name != service.name).then(|| {
        format!(
            "service `{}` reads {what} of service `{}`; use this service's own \
             DATABASE_URL/REDIS_URL and reach `{}` through its HTTP API",
            service.name, owner.name, owner.name
        )
    })
}

/// Addresses and state paths in `text` that point at another service's PostgreSQL or Redis.
fn foreign_addresses(project: &Project, service: &Service, text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for address in addresses_in(text) {
        if let Some((owner, what)) = address_owner(project, service, &address) {
            found.push((
                address.offset,
                format!(
                    "service `{}` hard-codes {what} of service `{}`; connect only to your own \
                     stores, through DATABASE_URL/REDIS_URL from the environment",
                    service.name, owner.name
                ),
            ));
        }
    }
    for other in project.others(service) {
        for path in state_paths(other) {
            for (offset, _) in text.match_indices(&path) {
                found.push((
                    offset,
                    format!(
                        "service `{}` reads `{path}`, state of service `{}`'s database; each \
                         service gets only its own *_PASSWORD_FILE",
                        service.name, other.name
                    ),
                ));
            }
        }
    }
    found
}

/// Per-service state that only that service's processes should touch (runtime contract).
fn state_paths(service: &Service) -> [String; 4] {
    let name = &service.name;
    [
        format!("secrets/{name}-db-password"),
        format!("secrets/{name}-redis-password"),
        format!("data/{name}/postgres"),
        format!("data/{name}/redis"),
    ]
}

fn address_owner<'a>(
    project: &'a Project,
    service: &'a Service,
    address: &Address,
) -> Option<(&'a Service, String)> {
    let own_port =
        |port: u16| service.postgres_ports.contains(&port) || service.redis_ports.contains(&port);
    for other in project.others(service) {
        if let Some(port) = address.port.filter(|&p| !own_port(p)) {
            let postgres = other.postgres_ports.contains(&port);
            let redis = other.redis_ports.contains(&port);
            let what = match address.store {
                Store::Postgres if postgres => Some("the PostgreSQL port"),
                Store::Redis if redis => Some("the Redis port"),
                Store::Unknown if postgres => Some("the PostgreSQL port"),
                Store::Unknown if redis => Some("the Redis port"),
                _ => None,
            };
            if let Some(what) = what {
                return Some((other, format!("{what} {port}")));
            }
        }
        let own_database = service.database_name();
        let other_database = other.database_name();
        let names_other = |name: &Option<String>| {
            name.as_deref()
                .is_some_and(|n| n == other_database && n != own_database)
        };
        if address.store == Store::Postgres && names_other(&address.database) {
            return Some((other, format!("the PostgreSQL database `{other_database}`")));
        }
        if names_other(&address.user) {
            return Some((other, format!("the database role `{other_database}`")));
        }
    }
    None
}
