//! `placement` -> which host runs each part of every service: each part on exactly one host,
//! replica counts from 1 to [`MAX_REPLICAS`], usable and distinct addresses, no two listeners of
//! one host on one port. Every rule fails with a located error.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::names::check_name;
use super::validate::Reporter;
use super::{PostgresMode, Service, ServiceKind};
use crate::config::{
    ConfigError, JsonPath, PartsConfig, PlacementConfig, StackrConfig, DEFAULT_REPLICA_PORT_START,
};

/// The validated placement.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// In config order.
    pub hosts: Vec<Host>,
    /// One per service, in the model's service order.
    pub services: Vec<ServicePlacement>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub name: String,
    pub address: IpAddr,
}

/// Where one service's parts run; hosts are indexes into [`Placement::hosts`].
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePlacement {
    pub api: Replicas,
    /// `None` when the service has no worker.
    pub worker: Option<Replicas>,
    pub postgres: usize,
    pub redis: usize,
    /// Loopback ports of the API replicas, behind the load balancer on the service's port.
    pub replica_ports: Vec<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replicas {
    pub host: usize,
    pub count: u32,
}

/// The ports of the deployed PostgreSQL server (per-service mode) and Redis of the service at
/// `index`.
pub fn deploy_store_ports(deploy: &super::DeploySettings, index: usize) -> (u16, u16) {
    let offset = index as u16; // validation keeps every range inside u16
    (
        deploy.postgres_port_start + offset,
        deploy.redis_port_start + offset,
    )
}

/// The most API replicas, or workers, of one service on one host. Each is a process of its own
/// with its own database pool, and each API replica a loopback port of its own from
/// `replicaPortStart`: far more than a host serves well, and few enough that the ports of a
/// host's replicas (a block of this many per service) stay within the 14,688 between the default
/// 18080 and Linux's ephemeral range (32768) for dozens of services.
pub const MAX_REPLICAS: u32 = 100;

/// The parts of a service found so far while reading the hosts: (host, count or 1, path).
#[derive(Default)]
struct Found {
    api: Option<(usize, u32, JsonPath)>,
    worker: Option<(usize, u32, JsonPath)>,
    postgres: Option<(usize, u32, JsonPath)>,
    redis: Option<(usize, u32, JsonPath)>,
}

const PLACE_HELP: &str = "place every part of a service on exactly one host";

pub(super) fn resolve(
    config: &StackrConfig,
    services: &[Service],
    report: &Reporter,
) -> Result<Option<Placement>, ConfigError> {
    let Some(placement) = &config.placement else {
        return Ok(None);
    };
    let root = JsonPath::root().key("placement");
    if placement.hosts.is_empty() {
        return Err(report.error(
            root.key("hosts"),
            "`placement.hosts` is empty",
            "list the hosts with the parts each runs, or leave `placement` out to run everything on one host",
        ));
    }
    if config.deploy.postgres_mode == PostgresMode::Shared {
        return Err(report.error(
            JsonPath::root().key("deploy").key("postgresMode"),
            "`placement` needs each service's own PostgreSQL server (`per-service` mode)",
            "remove `\"postgresMode\": \"shared\"`, or leave `placement` out",
        ));
    }
    // The replicas run as the service's own system user, like its API, which may not bind there.
    if placement.replica_port_start < 1024 {
        return Err(report.error(
            root.clone().key("replicaPortStart"),
            format!(
                "`replicaPortStart` is {}; ports below 1024 need root",
                placement.replica_port_start
            ),
            format!(
                "pick a port from 1024 to 65535, or leave it out for the default {DEFAULT_REPLICA_PORT_START}"
            ),
        ));
    }
    let hosts = resolve_hosts(placement, report)?;
    let mut found: Vec<Found> = services.iter().map(|_| Found::default()).collect();
    for (host, host_config) in placement.hosts.iter().enumerate() {
        let at = root.clone().key("hosts").index(host).key("runs");
        if host_config.runs.is_empty() {
            return Err(report.error(
                at,
                format!("host `{}` runs nothing", host_config.name),
                "give it parts to run, like `{ \"core\": { \"api\": 1 } }`, or remove the host",
            ));
        }
        for (name, parts) in &host_config.runs {
            let at = at.clone().key(name);
            let Some(index) = services.iter().position(|s| &s.name == name) else {
                return Err(report.error(
                    at,
                    format!("no service is named `{name}`"),
                    "use the name of a service in `services`",
                ));
            };
            record(
                &mut found[index],
                &services[index],
                parts,
                host,
                &at,
                &hosts,
                report,
            )?;
        }
    }
    let mut resolved = Vec::with_capacity(services.len());
    for (service, found) in services.iter().zip(found) {
        resolved.push(complete(service, found, &root, report)?);
    }
    assign_replica_ports(placement, &mut resolved);
    let placement_model = Placement {
        hosts,
        services: resolved,
    };
    check_host_ports(config, services, &placement_model, report)?;
    Ok(Some(placement_model))
}

fn resolve_hosts(placement: &PlacementConfig, report: &Reporter) -> Result<Vec<Host>, ConfigError> {
    let mut hosts: Vec<Host> = Vec::with_capacity(placement.hosts.len());
    for (index, host) in placement.hosts.iter().enumerate() {
        let at = JsonPath::root().key("placement").key("hosts").index(index);
        check_name(&host.name).map_err(|why| {
            report.error(
                at.clone().key("name"),
                format!("invalid host name: {why}"),
                "use a lowercase name like `db-1`",
            )
        })?;
        // Every host reaches the others by name, and resolves `localhost` to its own loopback
        // whatever its hosts file adds (NixOS's own line, systemd-resolved): the others would
        // call a loopback port of their own, free for any local user to take.
        if host.name == "localhost" {
            return Err(report.error(
                at.clone().key("name"),
                "invalid host name: `localhost` names every host's own loopback, where the other hosts would look for this one",
                "give the host a name of its own, like `db-1`",
            ));
        }
        let address: IpAddr = host.address.parse().map_err(|_| {
            report.error(
                at.clone().key("address"),
                format!("`{}` is not an IP address", host.address),
                "give the address other hosts reach this one at, like `10.0.0.5` or `fd00::5`",
            )
        })?;
        // `::ffff:a.b.c.d` is the IPv4 address a.b.c.d on the wire: judged as that address, then
        // refused, as the modules and the host certificate would take it as written, an IPv6
        // address no IPv4 socket or client has.
        let reached = match address {
            // The deprecated IPv4-compatible form (`::a.b.c.d`, RFC 4291) names an IPv4 address
            // too, one no IPv6 stack reaches any more.
            IpAddr::V6(v6) if v6.segments()[..6] == [0; 6] && v6.segments()[6] != 0 => {
                IpAddr::V4(std::net::Ipv4Addr::from_bits(v6.to_bits() as u32))
            }
            _ => address.to_canonical(),
        };
        let broadcast = matches!(reached, IpAddr::V4(v4) if v4.is_broadcast());
        if reached.is_loopback() || reached.is_unspecified() || reached.is_multicast() || broadcast
        {
            return Err(report.error(
                at.clone().key("address"),
                format!(
                    "`{address}` is not an address other hosts can reach this one at (loopback, unspecified, multicast or broadcast)"
                ),
                "give the host's own address on the network the hosts share",
            ));
        }
        // A link-local IPv6 address means nothing without the interface it is on, which a
        // placed address cannot name: Linux refuses to bind or connect to it without one.
        if matches!(reached, IpAddr::V6(v6) if v6.is_unicast_link_local()) {
            return Err(report.error(
                at.clone().key("address"),
                format!(
                    "`{address}` is a link-local IPv6 address, which no server can listen on and no host reach without naming an interface"
                ),
                "give the host's global or unique local address (like `fd00::5`) on the network the hosts share",
            ));
        }
        if reached != address {
            return Err(report.error(
                at.clone().key("address"),
                format!("`{address}` is the IPv4 address `{reached}` written as IPv6"),
                format!("write it as `{reached}`"),
            ));
        }
        if let Some(other) = hosts
            .iter()
            .find(|h| h.name == host.name || h.address == address)
        {
            let (field, what) = if other.name == host.name {
                ("name", format!("host name `{}`", host.name))
            } else {
                ("address", format!("address `{address}`"))
            };
            return Err(report.error(
                at.key(field),
                format!("duplicate {what}: already used by host `{}`", other.name),
                "give every host its own name and address",
            ));
        }
        // Each host reaches the others by name at their placed addresses, and admits them
        // (firewall, pg_hba) by those addresses alone. A host of the other family would reach
        // the others, and be reached, from an address of theirs no host's rules name, and every
        // connection between the two would be dropped.
        if let Some(first) = hosts.first() {
            if first.address.is_ipv4() != address.is_ipv4() {
                let family = |a: IpAddr| if a.is_ipv4() { "IPv4" } else { "IPv6" };
                return Err(report.error(
                    at.key("address"),
                    format!(
                        "`{address}` is an {} address, and host `{}` is placed on the {} address `{}`: the hosts reach and admit each other by these addresses alone, so connections between them would be dropped",
                        family(address),
                        first.name,
                        family(first.address),
                        first.address
                    ),
                    format!(
                        "give every host an address of one family (here, its {} address)",
                        family(first.address)
                    ),
                ));
            }
        }
        hosts.push(Host {
            name: host.name.clone(),
            address,
        });
    }
    Ok(hosts)
}

/// Adds the parts `parts` places on `host` to `found`, refusing a part placed twice, a replica
/// count of 0 or above [`MAX_REPLICAS`] and a worker for a service without one.
fn record(
    found: &mut Found,
    service: &Service,
    parts: &PartsConfig,
    host: usize,
    at: &JsonPath,
    hosts: &[Host],
    report: &Reporter,
) -> Result<(), ConfigError> {
    let entries = [
        ("api", "API", parts.api, &mut found.api),
        ("worker", "worker", parts.worker, &mut found.worker),
        (
            "postgres",
            "PostgreSQL",
            parts.postgres.then_some(1),
            &mut found.postgres,
        ),
        ("redis", "Redis", parts.redis.then_some(1), &mut found.redis),
    ];
    for (field, what, count, slot) in entries {
        let Some(count) = count else { continue };
        let path = at.clone().key(field);
        if count == 0 {
            return Err(report.error(
                path,
                format!("`{}` needs at least one {what} replica here", service.name),
                format!("set a count of 1 or more, or leave `{field}` out on this host"),
            ));
        }
        if count > MAX_REPLICAS {
            return Err(report.error(
                path,
                format!(
                    "{count} {what} replicas of `{}` on one host: a host runs at most {MAX_REPLICAS}",
                    service.name
                ),
                format!("set a count from 1 to {MAX_REPLICAS}, or spread the replicas over more hosts"),
            ));
        }
        if field == "worker" && !service.worker {
            return Err(report.error(
                path,
                format!("`{}` has no worker", service.name),
                "remove `worker` here, or enable the service's worker in `services`",
            ));
        }
        if let Some((first, _, _)) = slot {
            return Err(report.error(
                path,
                format!(
                    "the {what} of `{}` is placed twice: already on host `{}`",
                    service.name, hosts[*first].name
                ),
                format!("{PLACE_HELP} (raise the replica count there instead)"),
            ));
        }
        *slot = Some((host, count, path));
    }
    Ok(())
}

/// The service's placement, refusing a part placed on no host.
fn complete(
    service: &Service,
    found: Found,
    root: &JsonPath,
    report: &Reporter,
) -> Result<ServicePlacement, ConfigError> {
    let missing = |field: &str, what: &str| {
        report.error(
            root.clone().key("hosts"),
            format!("the {what} of `{}` runs on no host", service.name),
            format!(
                "add `\"{field}\": {}` under `runs.{}` of the host that should run it",
                if matches!(field, "api" | "worker") {
                    "1"
                } else {
                    "true"
                },
                service.name
            ),
        )
    };
    let replicas = |(host, count, _): (usize, u32, JsonPath)| Replicas { host, count };
    let api = found
        .api
        .map(replicas)
        .ok_or_else(|| missing("api", "API"))?;
    let worker = match (service.worker, found.worker) {
        (true, None) => return Err(missing("worker", "worker")),
        (_, worker) => worker.map(replicas),
    };
    let postgres = found
        .postgres
        .ok_or_else(|| missing("postgres", "PostgreSQL"))?
        .0;
    let redis = found.redis.ok_or_else(|| missing("redis", "Redis"))?.0;
    Ok(ServicePlacement {
        api,
        worker,
        postgres,
        redis,
        replica_ports: Vec::new(),
    })
}

/// API replicas listen on loopback ports from `replicaPortStart`: per host, each service with its
/// API there has a block of [`MAX_REPLICAS`] ports, in service order, its replicas the first of
/// them; the load balancer in front of them listens on the service's port (for auth with TLS).
/// A block per service, not the next free port, so that scaling one service's replicas moves no
/// other service's: a deploy restarts a moved socket alongside the others, and one moved onto a
/// port another socket still held fails to bind.
fn assign_replica_ports(placement: &PlacementConfig, services: &mut [ServicePlacement]) {
    let mut next: BTreeMap<usize, u32> = BTreeMap::new();
    for service in services.iter_mut() {
        let block = next
            .entry(service.api.host)
            .or_insert(u32::from(placement.replica_port_start));
        service.replica_ports = (0..service.api.count)
            .map(|i| u16::try_from(*block + i).unwrap_or(0))
            .collect();
        *block += MAX_REPLICAS;
    }
}

/// No two listeners of one host share a port (a replica port beyond 65535 is reported as 0).
fn check_host_ports(
    config: &StackrConfig,
    services: &[Service],
    placement: &Placement,
    report: &Reporter,
) -> Result<(), ConfigError> {
    let mut listeners: BTreeMap<(usize, u16), String> = BTreeMap::new();
    for (index, (service, placed)) in services.iter().zip(&placement.services).enumerate() {
        let (postgres, redis) = deploy_store_ports(&config.deploy, index);
        let name = &service.name;
        let mut ports = vec![(
            placed.api.host,
            service.port,
            format!("the API of `{name}`"),
        )];
        if service.kind == ServiceKind::Auth {
            if let Some(admin) = service.admin_port {
                ports.push((
                    placed.api.host,
                    admin,
                    format!("the admin page of `{name}`"),
                ));
            }
        }
        ports.extend(placed.replica_ports.iter().enumerate().map(|(i, port)| {
            (
                placed.api.host,
                *port,
                format!("API replica {} of `{name}`", i + 1),
            )
        }));
        ports.push((placed.redis, redis, format!("the Redis of `{name}`")));
        ports.push((
            placed.postgres,
            postgres,
            format!("the PostgreSQL of `{name}`"),
        ));
        for (host, port, what) in ports {
            let host_name = &placement.hosts[host].name;
            if port == 0 {
                return Err(report.error(
                    JsonPath::root().key("placement").key("replicaPortStart"),
                    format!("{what} on host `{host_name}` would need a port above 65535"),
                    "lower `replicaPortStart`",
                ));
            }
            if let Some(other) = listeners.insert((host, port), what.clone()) {
                return Err(report.error(
                    JsonPath::root().key("placement").key("replicaPortStart"),
                    format!("port clash on host `{host_name}`: {what} and {other} both use port {port}"),
                    format!("move `replicaPortStart` (default {DEFAULT_REPLICA_PORT_START}) to a range no other listener of the host uses"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const FLEET: &str = include_str!("../../../generator/tests/fixtures/fleet/stackr.config.json");

    fn check(text: &str) -> Result<crate::model::Model, ConfigError> {
        let file = Path::new("stackr.config.json");
        super::super::validate(&crate::config::parse_config(file, text)?, file, text)
    }

    /// The fleet fixture with `from` replaced by `to` (which must occur).
    fn fleet_with(from: &str, to: &str) -> String {
        assert!(FLEET.contains(from), "{from}");
        FLEET.replacen(from, to, 1)
    }

    fn error(text: &str) -> ConfigError {
        check(text).expect_err("the config must be refused")
    }

    #[test]
    fn the_fleet_fixture_places_every_part_once_with_replica_ports() {
        let model = check(FLEET).unwrap();
        let placement = model.placement.unwrap();
        let names: Vec<&str> = placement.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["gate", "app-core", "app-wallet", "data"]);
        let core = &placement.services[1];
        assert_eq!(core.api, Replicas { host: 1, count: 2 });
        assert_eq!(core.worker, Some(Replicas { host: 1, count: 2 }));
        assert_eq!((core.postgres, core.redis), (3, 3));
        assert_eq!(core.replica_ports, [18080, 18081]);
        // Counted per host: wallet's replicas are on another host.
        assert_eq!(placement.services[2].replica_ports, [18080, 18081]);
        assert_eq!(placement.services[0].replica_ports, [18080]);
        assert_eq!(placement.services[0].worker, None);
    }

    /// The whole diagnostic a refused config gets, as printed without colors.
    fn report(text: &str) -> String {
        error(text).report(false)
    }

    #[test]
    fn shared_postgres_mode_is_refused() {
        let shared = fleet_with(
            r#""name": "fleet","#,
            r#""name": "fleet", "deploy": { "postgresMode": "shared" },"#,
        );
        insta::assert_snapshot!(report(&shared));
    }

    #[test]
    fn the_deployment_ca_variable_is_not_the_users_to_set() {
        insta::assert_snapshot!(report(&fleet_with(
            r#"{ "name": "core" }"#,
            r#"{ "name": "core", "environment": { "TLS_CA_FILE": "/etc/ssl/ca.pem" } }"#,
        )));
    }

    #[test]
    fn no_placement_is_one_host() {
        let single = r#"{"name":"s","services":[{"name":"auth","kind":"auth"}]}"#;
        assert_eq!(check(single).unwrap().placement, None);
    }

    #[test]
    fn a_part_placed_twice_names_both_hosts() {
        insta::assert_snapshot!(report(&fleet_with(
            r#""core": { "api": 2, "worker": 2 }"#,
            r#""core": { "api": 2, "worker": 2, "redis": true }"#,
        )));
    }

    #[test]
    fn a_part_on_no_host_is_refused_with_what_to_add() {
        insta::assert_snapshot!(report(&fleet_with(
            r#""wallet": { "postgres": true, "redis": true }"#,
            r#""wallet": { "redis": true }"#,
        )));
    }

    #[test]
    fn replica_counts_are_at_least_one() {
        insta::assert_snapshot!(report(&fleet_with(
            r#""api": 2, "worker": 2 } } },"#,
            r#""api": 0, "worker": 2 } } },"#,
        )));
    }

    #[test]
    fn addresses_must_be_reachable_distinct_ip_addresses() {
        for (name, bad) in [
            ("host_name_address", "db.example.com"),
            ("loopback_address", "127.0.0.1"),
            ("unspecified_address", "0.0.0.0"),
            ("duplicate_address", "10.0.0.10"),
        ] {
            insta::assert_snapshot!(name, report(&fleet_with("10.0.0.20", bad)));
        }
        insta::assert_snapshot!(
            "duplicate_host_name",
            report(&fleet_with(r#""name": "data""#, r#""name": "gate""#))
        );
    }

    /// Every host maps each host's name to its address, and also `localhost` to its own
    /// loopback (NixOS's own line, and systemd-resolved answers it without looking further): a
    /// host named so would be reached by every other host on the caller's own loopback port,
    /// free for any local user to take, not at its address.
    #[test]
    fn a_host_named_localhost_is_refused() {
        let report = report(&fleet_with(r#""name": "gate""#, r#""name": "localhost""#));
        assert!(
            report.contains("invalid host name") && report.contains("localhost"),
            "{report}"
        );
    }

    /// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is the IPv4 address on the wire: it
    /// is refused, with the IPv4 form to write: written so, it would reach the servers' listen
    /// addresses, their client rules and the host certificate as an IPv6 address, which neither
    /// an IPv4 socket nor an IPv4 client matches. Broadcast reaches no one host either.
    #[test]
    fn mapped_and_broadcast_addresses_are_refused() {
        for (bad, why) in [
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.30", "write it as `10.0.0.30`"),
            ("::10.0.0.31", "write it as `10.0.0.31`"),
            ("255.255.255.255", "broadcast"),
        ] {
            let report = report(&fleet_with("10.0.0.20", bad));
            assert!(report.contains(why), "{bad}: {report}");
        }
    }

    /// An IPv6 link-local address (`fe80::/10`) names an address on each of a host's links: with
    /// no interface to say which (and a placed address has none), Linux refuses to bind or
    /// connect to it, so no server of the host could listen there and no other host reach it.
    #[test]
    fn link_local_ipv6_addresses_are_refused() {
        for bad in ["fe80::20", "febf::20"] {
            let report = report(&fleet_with("10.0.0.20", bad));
            assert!(report.contains("link-local"), "{bad}: {report}");
        }
        // IPv4's link-local addresses need no interface named: a host may be placed on one.
        assert!(check(&fleet_with("10.0.0.20", "169.254.0.20")).is_ok());
    }

    /// The hosts reach each other by name at their placed addresses, and each admits the others
    /// (firewall, pg_hba) by those addresses: a host of the other family would be reached, and
    /// would connect, from an address no host's rules name, and be dropped.
    #[test]
    fn every_host_is_placed_on_an_address_of_one_family() {
        let report = report(&fleet_with("10.0.0.20", "fd00::20"));
        assert!(
            report.contains("`fd00::20`") && report.contains("`gate`") && report.contains("IPv4"),
            "{report}"
        );
        let all_v6 = FLEET
            .replace("10.0.0.1", "fd00::1")
            .replace("10.0.0.20", "fd00::20");
        assert!(check(&all_v6).is_ok());
    }

    #[test]
    fn unknown_services_and_workers_of_workerless_services_are_refused() {
        insta::assert_snapshot!(
            "unknown_service",
            report(&fleet_with(
                r#""wallet": { "postgres""#,
                r#""wallets": { "postgres""#,
            ))
        );
        insta::assert_snapshot!(
            "worker_of_workerless_service",
            report(&fleet_with(
                r#""auth": { "api": 1,"#,
                r#""auth": { "api": 1, "worker": 1,"#,
            ))
        );
    }

    #[test]
    fn services_sharing_a_host_have_a_block_of_replica_ports_each() {
        // wallet's API joins core's on app-core, after it in service order.
        let shared = fleet_with(
            r#""app-wallet", "address": "10.0.0.12", "runs": { "wallet": { "api": 2, "worker": 2 } }"#,
            r#""app-wallet", "address": "10.0.0.12", "runs": { "wallet": { "worker": 2 } }"#,
        )
        .replacen(
            r#""core": { "api": 2, "worker": 2 }"#,
            r#""core": { "api": 3, "worker": 2 }, "wallet": { "api": 2 }"#,
            1,
        );
        let placement = check(&shared).unwrap().placement.unwrap();
        assert_eq!(placement.services[1].replica_ports, [18080, 18081, 18082]);
        assert_eq!(placement.services[2].replica_ports, [18180, 18181]);
    }

    /// Replicas listen as the service's own system user, which may not bind a port below 1024
    /// (API ports are held to the same); 0 was refused as needing a port above 65535.
    #[test]
    fn replica_ports_below_1024_are_refused() {
        for start in [0, 1, 1023] {
            let low = fleet_with(
                r#""placement": {"#,
                &format!(r#""placement": {{ "replicaPortStart": {start},"#),
            );
            let error = error(&low);
            assert_eq!(error.path.to_string(), "placement.replicaPortStart");
            assert!(
                error.message.contains("below 1024"),
                "{start}: {}",
                error.message
            );
        }
        let lowest = fleet_with(
            r#""placement": {"#,
            r#""placement": { "replicaPortStart": 1024,"#,
        );
        assert!(check(&lowest).is_ok());
    }

    #[test]
    fn replica_ports_clashing_with_a_listener_of_the_host_are_refused() {
        // core's PostgreSQL is moved onto its API host, at its deployed port 5441.
        let moved = fleet_with(
            r#""core": { "api": 2, "worker": 2 }"#,
            r#""core": { "api": 2, "worker": 2, "postgres": true }"#,
        )
        .replacen(
            r#""core": { "postgres": true, "redis": true }"#,
            r#""core": { "redis": true }"#,
            1,
        )
        .replacen(
            r#""placement": {"#,
            r#""placement": { "replicaPortStart": 5441,"#,
            1,
        );
        insta::assert_snapshot!(report(&moved));
    }
}
