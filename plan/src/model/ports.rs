//! Port defaults and allocation. Auth is fixed at 8888/3333, base APIs are contiguous from 8080.

use std::collections::HashSet;

use crate::config::{ServiceConfig, ServiceKind, StackrConfig};

pub const AUTH_PORT: u16 = 8888;
pub const AUTH_ADMIN_PORT: u16 = 3333;
pub const FIRST_BASE_PORT: u16 = 8080;
/// System defaults a developer's machine often already runs; dev ranges must avoid them.
pub const SYSTEM_POSTGRES_PORT: u16 = 5432;
pub const SYSTEM_REDIS_PORT: u16 = 6379;

/// Port of every service in config order, filling defaults: the n-th base service without an
/// explicit port gets the n-th free port from 8080 not taken by an explicit port, `None` once
/// no port up to 65535 is left (a config of tens of thousands of services).
pub fn resolve_api_ports(services: &[ServiceConfig]) -> Vec<Option<u16>> {
    let taken: HashSet<u16> = services.iter().filter_map(|s| s.port).collect();
    let mut free = (FIRST_BASE_PORT..=u16::MAX)
        .filter(|port| !taken.contains(port) && *port != AUTH_PORT && *port != AUTH_ADMIN_PORT);
    services
        .iter()
        .map(|service| match (service.port, service.kind) {
            (Some(port), _) => Some(port),
            (None, ServiceKind::Auth) => Some(AUTH_PORT),
            (None, ServiceKind::Base) => free.next(),
        })
        .collect()
}

/// What `stackr add service` writes into the config: the first free port after the highest base
/// API port (8080 for the first base service), so a new service follows the ones the user moved;
/// ports any service, auth's defaults, a system database or a PostgreSQL/Redis range (grown by
/// the new service) use are skipped. When nothing is free above, the lowest free port from 8080.
pub fn next_free_base_port(config: &StackrConfig) -> u16 {
    let services = &config.services;
    let resolved = resolve_api_ports(services);
    let used: Vec<u16> = resolved.iter().flatten().copied().collect();
    let admin: Vec<u16> = services.iter().filter_map(|s| s.admin_port).collect();
    let count = services.len() as u32 + 1;
    let range_starts = [
        config.dev.postgres_port_start,
        config.dev.redis_port_start,
        config.deploy.postgres_port_start,
        config.deploy.redis_port_start,
    ];
    let in_a_range = |p: u16| {
        range_starts
            .iter()
            .any(|start| (u32::from(*start)..u32::from(*start) + count).contains(&u32::from(p)))
    };
    let reserved = [
        AUTH_PORT,
        AUTH_ADMIN_PORT,
        SYSTEM_POSTGRES_PORT,
        SYSTEM_REDIS_PORT,
    ];
    let free = |p: &u16| {
        !used.contains(p) && !admin.contains(p) && !reserved.contains(p) && !in_a_range(*p)
    };
    let start = services
        .iter()
        .zip(&resolved)
        .filter(|(service, _)| service.kind == ServiceKind::Base)
        .filter_map(|(_, port)| port.map(|port| port.saturating_add(1)))
        .max()
        .unwrap_or(FIRST_BASE_PORT);
    (start..=u16::MAX)
        .find(free)
        .or_else(|| (FIRST_BASE_PORT..=u16::MAX).find(free))
        .unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> StackrConfig {
        crate::config::parse_config(std::path::Path::new("stackr.config.json"), text).unwrap()
    }

    #[test]
    fn default_dev_ranges_of_1000_services_stay_below_the_ephemeral_range() {
        let dev = crate::config::DevSettings::default();
        let (postgres, redis) = (
            u32::from(dev.postgres_port_start),
            u32::from(dev.redis_port_start),
        );
        assert!(
            postgres + 1000 <= redis || redis + 1000 <= postgres,
            "{dev:?}"
        );
        assert!(postgres.max(redis) + 1000 < 32_768, "{dev:?}");
    }

    #[test]
    fn next_port_follows_the_highest_and_skips_ranges_and_system_ports() {
        let moved = config(
            r#"{"name":"s","services":[{"name":"auth","kind":"auth"},{"name":"a","port":9000}]}"#,
        );
        assert_eq!(next_free_base_port(&moved), 9001);
        // The dev PostgreSQL range grows to three ports with the new service: 9001..=9003.
        let range = config(
            r#"{"name":"s","dev":{"postgresPortStart":9001},"services":[{"name":"auth","kind":"auth"},{"name":"a","port":9000}]}"#,
        );
        assert_eq!(next_free_base_port(&range), 9004);
        let below_postgres =
            config(r#"{"name":"s","services":[{"name":"a","port":5431,"authMiddleware":"none"}]}"#);
        assert_eq!(next_free_base_port(&below_postgres), 5433);
        let none = config(r#"{"name":"s","services":[{"name":"auth","kind":"auth"}]}"#);
        assert_eq!(next_free_base_port(&none), FIRST_BASE_PORT);
    }

    /// More base services than ports from 8080 on: the config is refused at the first service
    /// left without a default port, rather than the count running past 65535.
    #[test]
    fn default_ports_running_out_are_refused_at_the_service() {
        let services: Vec<String> = (0..60_000)
            .map(|i| format!(r#"{{"name":"s{i}","authMiddleware":"none"}}"#))
            .collect();
        let text = format!(r#"{{"name":"big","services":[{}]}}"#, services.join(","));
        let file = std::path::Path::new("stackr.config.json");
        let error = crate::model::validate(&config(&text), file, &text).unwrap_err();
        // 8080..=65535 holds 57456 ports, auth's default 8888 among them: 57455 are given out.
        assert_eq!(
            error.path.to_string(),
            "services[57455]",
            "{}",
            error.message
        );
        assert!(
            error.message.contains("no default API port"),
            "{}",
            error.message
        );
    }
}
