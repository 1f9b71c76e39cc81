//! Lenient reading of `stackr.config.json`: only the facts the rules need (service names, kinds,
//! port ranges), read through `serde_json::Value` so the linter does not depend on the
//! generator's types and keeps working on configs with fields it has never heard of.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;

pub const CONFIG_FILE: &str = "stackr.config.json";

/// Defaults mirrored from the generator (`dev.postgresPortStart`, `dev.redisPortStart`,
/// `deploy.redisPortStart`): each service gets `start + its index in the services list`.
const DEFAULT_DEV_POSTGRES_PORT_START: u64 = 15440;
const DEFAULT_DEV_REDIS_PORT_START: u64 = 17380;
const DEFAULT_DEPLOY_REDIS_PORT_START: u64 = 6380;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    Auth,
    Base,
}

/// One entry of the config's `services` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredService {
    pub name: String,
    pub kind: ServiceKind,
    /// Ports this service's own PostgreSQL and Redis listen on (dev and deploy).
    pub postgres_ports: Vec<u16>,
    pub redis_ports: Vec<u16>,
}

pub fn read_config(root: &Path) -> Result<Vec<ConfiguredService>> {
    let path = root.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {}: run `stackr lint` in a stackr project root or pass the root as PATH",
            path.display()
        )
    })?;
    let config: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    services_of(&config).with_context(|| format!("in {}", path.display()))
}

pub fn services_of(config: &Value) -> Result<Vec<ConfiguredService>> {
    let Some(services) = config.get("services").and_then(Value::as_array) else {
        bail!("`services` must be a list of {{\"name\": …, \"kind\": \"auth\"|\"base\"}}");
    };
    let dev_postgres = port_start(
        config,
        "dev",
        "postgresPortStart",
        DEFAULT_DEV_POSTGRES_PORT_START,
    );
    let dev_redis = port_start(
        config,
        "dev",
        "redisPortStart",
        DEFAULT_DEV_REDIS_PORT_START,
    );
    let deploy_redis = port_start(
        config,
        "deploy",
        "redisPortStart",
        DEFAULT_DEPLOY_REDIS_PORT_START,
    );

    let mut result = Vec::with_capacity(services.len());
    for (index, service) in services.iter().enumerate() {
        let Some(name) = service.get("name").and_then(Value::as_str) else {
            bail!("`services[{index}].name` is missing or not a string");
        };
        // The generator defaults `kind` to base; anything but "auth" is treated as base, which
        // is the stricter choice for every rule.
        let kind = match service.get("kind").and_then(Value::as_str) {
            Some("auth") => ServiceKind::Auth,
            _ => ServiceKind::Base,
        };
        let offset = index as u64;
        result.push(ConfiguredService {
            name: name.to_owned(),
            kind,
            postgres_ports: ports([dev_postgres + offset]),
            redis_ports: ports([dev_redis + offset, deploy_redis + offset]),
        });
    }
    Ok(result)
}

fn port_start(config: &Value, section: &str, key: &str, default: u64) -> u64 {
    config
        .get(section)
        .and_then(|s| s.get(key))
        .and_then(Value::as_u64)
        .unwrap_or(default)
}

fn ports<const N: usize>(candidates: [u64; N]) -> Vec<u16> {
    candidates
        .into_iter()
        .filter_map(|p| u16::try_from(p).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ports_follow_service_order_and_configured_starts() {
        let config = json!({
            "dev": { "postgresPortStart": 40000 },
            "services": [ { "name": "auth", "kind": "auth" }, { "name": "core" } ]
        });
        let services = services_of(&config).unwrap();
        assert_eq!(services[0].kind, ServiceKind::Auth);
        assert_eq!(services[1].kind, ServiceKind::Base);
        assert_eq!(services[1].postgres_ports, vec![40001]);
        assert_eq!(services[1].redis_ports, vec![17381, 6381]);
    }

    #[test]
    fn missing_services_is_an_error() {
        assert!(services_of(&json!({ "name": "x" })).is_err());
        assert!(services_of(&json!({ "services": [ { "kind": "base" } ] })).is_err());
    }
}
