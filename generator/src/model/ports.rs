//! Port defaults and allocation. Auth is fixed at 8888/3333, base APIs are contiguous from 8080.

use std::collections::HashSet;

use crate::config::{ServiceConfig, ServiceKind};

pub const AUTH_PORT: u16 = 8888;
pub const AUTH_ADMIN_PORT: u16 = 3333;
pub const FIRST_BASE_PORT: u16 = 8080;
/// System defaults a developer's machine often already runs; dev ranges must avoid them.
pub const SYSTEM_POSTGRES_PORT: u16 = 5432;
pub const SYSTEM_REDIS_PORT: u16 = 6379;

/// Port of every service in config order, filling defaults: the n-th base service without an
/// explicit port gets the n-th free port from 8080 not taken by an explicit port.
pub fn resolve_api_ports(services: &[ServiceConfig]) -> Vec<u16> {
    let taken: HashSet<u16> = services.iter().filter_map(|s| s.port).collect();
    let mut next = FIRST_BASE_PORT;
    services
        .iter()
        .map(|service| match (service.port, service.kind) {
            (Some(port), _) => port,
            (None, ServiceKind::Auth) => AUTH_PORT,
            (None, ServiceKind::Base) => {
                while taken.contains(&next) || next == AUTH_PORT || next == AUTH_ADMIN_PORT {
                    next += 1;
                }
                next += 1;
                next - 1
            }
        })
        .collect()
}

/// What `stackr add service` writes into the config: the first free port after the highest base
/// API port (8080 for the first base service), so a new service follows the ones the user moved;
/// ports any service, auth's defaults or a system database use are skipped. When nothing is free
/// above, the lowest free port from 8080.
pub fn next_free_base_port(services: &[ServiceConfig]) -> u16 {
    let used = resolve_api_ports(services);
    let admin: Vec<u16> = services.iter().filter_map(|s| s.admin_port).collect();
    let free = |p: &u16| {
        !used.contains(p)
            && !admin.contains(p)
            && ![
                AUTH_PORT,
                AUTH_ADMIN_PORT,
                SYSTEM_POSTGRES_PORT,
                SYSTEM_REDIS_PORT,
            ]
            .contains(p)
    };
    let start = services
        .iter()
        .zip(&used)
        .filter(|(service, _)| service.kind == ServiceKind::Base)
        .map(|(_, port)| port.saturating_add(1))
        .max()
        .unwrap_or(FIRST_BASE_PORT);
    (start..=u16::MAX)
        .find(free)
        .or_else(|| (FIRST_BASE_PORT..=u16::MAX).find(free))
        .unwrap_or(u16::MAX)
}
