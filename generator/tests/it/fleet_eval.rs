//! Evaluates every host of a stack placed on four hosts (tests/fixtures/fleet: auth's host, two
//! service hosts with 2 API replicas and 2 workers each, a database host carrying both services'
//! PostgreSQL and Redis) through the flake outputs of its generated nix/fleet.nix, with nixpkgs'
//! real module system (tests/nixos/evaluate-fleet.nix), and checks the properties that span
//! hosts: every connection between hosts is TLS verified by host name, each firewall opens
//! exactly the ports other hosts' processes use and only to those hosts, no secret is in the
//! store and colmena uploads every one a host needs, API replicas sit behind a health-checked
//! load balancer, and a service cannot log in to another service's database.
//! Skipped when nix-instantiate is not installed; fails when nixpkgs' lib is missing.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use common::nixos::{
    credentials, evaluate_fleet, evaluate_fleet_with_host, strings, unix_socket, url_host,
    url_port, violations,
};
use common::{
    fixture_config, fixture_plan, generated_project, generated_project_with_config,
    nix_instantiate_available, project_with_config, stackr,
};
use serde_json::Value;

/// The evaluated hosts by name (None when nix-instantiate is missing).
fn fleet() -> Option<BTreeMap<String, Value>> {
    fleet_in_project().map(|(_, hosts)| hosts)
}

/// The generated project (with its config) and its evaluated hosts.
fn fleet_in_project() -> Option<(tempfile::TempDir, BTreeMap<String, Value>)> {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return None;
    }
    let config = fixture_config("fleet");
    let project = generated_project_with_config(&config);
    let hosts = evaluate_fleet(project.path());
    let hosts = hosts
        .as_object()
        .expect("hosts by name")
        .iter()
        .map(|(name, system)| (name.clone(), system.clone()))
        .collect();
    Some((project, hosts))
}

fn units(system: &Value) -> &serde_json::Map<String, Value> {
    system["units"].as_object().unwrap()
}

/// One connection a process opens to another host: from host, unit, variable, URL.
struct Remote<'a> {
    from: &'a str,
    unit: &'a str,
    key: &'a str,
    url: &'a str,
    host: &'a str,
    port: u16,
}

/// Every DATABASE_URL/REDIS_URL/AUTH_URL of every unit that names another host.
fn remote_connections(fleet: &BTreeMap<String, Value>) -> Vec<Remote<'_>> {
    let mut found = Vec::new();
    for (from, system) in fleet {
        for (unit, config) in units(system) {
            let env = &config["environment"];
            let single = ["DATABASE_URL", "REDIS_URL", "AUTH_URL"]
                .into_iter()
                .filter_map(|key| Some((key, env[key].as_str()?)));
            // Every base service's API, `name=url` each.
            let peers = env["SERVICE_URLS"]
                .as_str()
                .into_iter()
                .flat_map(|list| list.split(','))
                .filter_map(|entry| Some(("SERVICE_URLS", entry.split_once('=')?.1)));
            for (key, url) in single.chain(peers) {
                // A Unix socket: this host's own server.
                if unix_socket(url).is_some() {
                    continue;
                }
                let host = url_host(url).unwrap();
                if host == "127.0.0.1" || host == from {
                    continue;
                }
                found.push(Remote {
                    from,
                    unit,
                    key,
                    url,
                    host,
                    port: url_port(url).unwrap(),
                });
            }
        }
    }
    found
}

fn address<'a>(fleet: &'a BTreeMap<String, Value>, host: &str) -> &'a str {
    fleet[host]["stackr"]["fleet"]["hosts"][host]["address"]
        .as_str()
        .unwrap()
}

/// (port, source address) pairs the host's firewall opens (`-s ADDR --dport PORT` lines).
fn firewall_openings(system: &Value) -> BTreeSet<(u16, String)> {
    system["firewallCommands"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let after = |flag: &str| {
                let at = words.iter().position(|w| *w == flag).unwrap_or_else(|| {
                    panic!("firewall line without {flag}: {line}");
                });
                words[at + 1]
            };
            assert!(
                line.ends_with("-j nixos-fw-accept") && words.contains(&"-p"),
                "unexpected firewall line: {line}"
            );
            (after("--dport").parse().unwrap(), after("-s").to_owned())
        })
        .collect()
}

#[test]
fn every_host_evaluates_to_a_sound_system() {
    let Some(fleet) = fleet() else { return };
    assert_eq!(
        fleet.keys().collect::<Vec<_>>(),
        ["app-core", "app-wallet", "data", "gate"]
    );
    for (host, system) in &fleet {
        let found = violations(system);
        assert!(found.is_empty(), "{host}:\n{}", found.join("\n"));
        // Every host resolves every host's name to its address (TLS is verified by name).
        for other in fleet.keys() {
            assert_eq!(
                system["hosts"][address(&fleet, other)],
                serde_json::json!([other]),
                "{host}"
            );
        }
    }
}

#[test]
fn every_connection_between_hosts_is_tls_verified_by_name() {
    let Some(fleet) = fleet() else { return };
    let remote = remote_connections(&fleet);
    let kinds: BTreeSet<&str> = remote.iter().map(|r| r.key).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["AUTH_URL", "DATABASE_URL", "REDIS_URL", "SERVICE_URLS"])
    );
    for r in &remote {
        let context = format!("{} {} {}={}", r.from, r.unit, r.key, r.url);
        let target = fleet
            .get(r.host)
            .unwrap_or_else(|| panic!("{context}: no host named {}", r.host));
        let loaded: Vec<&str> = credentials(&units(&fleet[r.from])[r.unit])
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        match r.key {
            "DATABASE_URL" => {
                let ca = r
                    .url
                    .split_once("sslrootcert=%d/")
                    .map(|(_, id)| id.split('&').next().unwrap());
                assert!(
                    r.url.contains("sslmode=verify-full")
                        && ca.is_some_and(|id| loaded.contains(&id)),
                    "{context}: not verify-full against a loaded CA ({loaded:?})"
                );
                let server = units(target)
                    .values()
                    .find(|u| {
                        u["environment"]["PGPORT"]
                            .as_str()
                            .and_then(|p| p.parse().ok())
                            == Some(r.port)
                            && u["serviceConfig"]["ExecStart"]
                                .as_str()
                                .is_some_and(|e| e.contains("/bin/postgres "))
                    })
                    .unwrap_or_else(|| {
                        panic!("{context}: no PostgreSQL on {} at {}", r.host, r.port)
                    });
                let exec = server["serviceConfig"]["ExecStart"].as_str().unwrap();
                assert!(
                    exec.contains("-c ssl=on") && exec.contains("ssl_cert_file=%d/tls-host.crt"),
                    "{context}: server without TLS: {exec}"
                );
            }
            "REDIS_URL" => {
                assert!(r.url.starts_with("rediss://"), "{context}");
                let server = target["redis"]
                    .as_object()
                    .unwrap()
                    .values()
                    .find(|s| s["settings"]["tls-port"] == r.port)
                    .unwrap_or_else(|| {
                        panic!("{context}: no TLS Redis on {} at {}", r.host, r.port)
                    });
                assert_eq!(server["port"], 0, "{context}: a plain listener beside TLS");
                assert!(server["settings"]["tls-cert-file"].is_string(), "{context}");
            }
            _ => {
                assert!(r.url.starts_with("https://"), "{context}");
                let vhost = target["nginx"]["virtualHosts"]
                    .as_object()
                    .unwrap()
                    .values()
                    .find(|v| {
                        v["listen"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|l| l["port"] == r.port)
                    })
                    .unwrap_or_else(|| {
                        panic!("{context}: no load balancer on {} at {}", r.host, r.port)
                    });
                assert!(
                    vhost["onlySSL"] == true
                        && vhost["listen"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .all(|l| l["ssl"] == true),
                    "{context}: a load balancer without TLS: {vhost}"
                );
            }
        }
    }
}

#[test]
fn firewalls_open_exactly_the_ports_other_hosts_use_to_those_hosts() {
    let Some(fleet) = fleet() else { return };
    let mut needed: BTreeMap<&str, BTreeSet<(u16, String)>> = fleet
        .keys()
        .map(|h| (h.as_str(), BTreeSet::new()))
        .collect();
    for r in remote_connections(&fleet) {
        needed
            .get_mut(r.host)
            .unwrap()
            .insert((r.port, address(&fleet, r.from).to_owned()));
    }
    for (host, system) in &fleet {
        assert_eq!(firewall_openings(system), needed[host.as_str()], "{host}");
        assert_eq!(
            system["firewall"],
            serde_json::json!([]),
            "{host}: opened to everyone"
        );
    }
    // The database host opens each service's PostgreSQL and Redis to that service's host only.
    let data = firewall_openings(&fleet["data"]);
    assert!(data.contains(&(5441, "10.0.0.11".to_owned())), "{data:?}");
    assert!(!data.contains(&(5441, "10.0.0.12".to_owned())), "{data:?}");
}

/// (port, source address) pairs an nftables firewall opens (`saddr ADDR tcp dport PORT accept`).
fn nftables_openings(system: &Value) -> BTreeSet<(u16, String)> {
    system["firewallInputRules"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                ["ip" | "ip6", "saddr", address, "tcp", "dport", port, "accept"] => {
                    (port.parse().unwrap(), address.to_owned())
                }
                _ => panic!("unexpected nftables rule: {line}"),
            },
        )
        .collect()
}

/// A host on nixpkgs' nftables firewall (`networking.nftables.enable`), which refuses iptables
/// commands, opens the same ports to the same hosts with nftables rules.
#[test]
fn an_nftables_firewall_opens_the_same_ports_to_the_same_hosts() {
    let Some((project, iptables)) = fleet_in_project() else {
        return;
    };
    let nftables =
        evaluate_fleet_with_host(project.path(), "{ networking.nftables.enable = true; }");
    for (host, system) in nftables.as_object().unwrap() {
        assert_eq!(system["failedAssertions"], serde_json::json!([]), "{host}");
        assert_eq!(system["firewallCommands"], "", "{host}");
        assert_eq!(
            nftables_openings(system),
            firewall_openings(&iptables[host]),
            "{host}"
        );
    }
    assert!(!nftables_openings(&nftables["data"]).is_empty());
}

/// A PostgreSQL or Redis server listening on its host's address starts once the network is
/// online: at `network.target` the address may not be there yet after a reboot, and then
/// PostgreSQL serves loopback only (it just warns) and Redis fails to start.
#[test]
fn servers_listening_on_the_hosts_address_wait_for_the_network_online() {
    let Some(fleet) = fleet() else { return };
    let mut checked = 0;
    for (host, system) in &fleet {
        let ip = address(&fleet, host);
        for (name, unit) in units(system) {
            let exec_start = unit["serviceConfig"]["ExecStart"].to_string();
            let redis_bind = name
                .strip_prefix("redis-")
                .map(|server| system["redis"][server]["bind"].to_string());
            let on_the_address =
                exec_start.contains(ip) || redis_bind.is_some_and(|bind| bind.contains(ip));
            if !on_the_address || name == "nginx" {
                continue;
            }
            checked += 1;
            for list in ["wants", "after"] {
                assert!(
                    strings(&unit[list]).contains(&"network-online.target"),
                    "{host}: {name}: {list} = {}",
                    unit[list]
                );
            }
        }
    }
    assert!(checked >= 4, "servers on a host address: {checked}");
}

/// A base service's API and worker on the host of auth's API reach auth through that host's
/// nginx (`AUTH_URL`), as from any other host: they start after it and pull it in, as they start
/// after auth's replicas, so that "after the auth API" still means after a serving auth.
#[test]
fn base_processes_on_auths_host_start_after_its_load_balancer() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let config = r#"{
  "name": "together",
  "services": [
    { "name": "auth", "kind": "auth", "baseUrl": "https://auth.example.com" },
    { "name": "core" }
  ],
  "placement": {
    "hosts": [
      { "name": "app", "address": "10.0.0.11", "runs": { "auth": { "api": 1, "redis": true }, "core": { "api": 2, "worker": 1, "redis": true } } },
      { "name": "data", "address": "10.0.0.20", "runs": { "auth": { "postgres": true }, "core": { "postgres": true } } }
    ]
  }
}"#;
    let project = generated_project_with_config(config);
    let hosts = evaluate_fleet(project.path());
    let units = units(&hosts["app"]);
    assert_eq!(
        units["stackr-core-api-1"]["environment"]["AUTH_URL"],
        "https://app:8888"
    );
    for unit in [
        "stackr-core-api-1",
        "stackr-core-api-2",
        "stackr-core-worker-1",
    ] {
        for field in ["after", "wants"] {
            assert!(
                strings(&units[unit][field]).contains(&"nginx.service"),
                "{unit}.{field}: {}",
                units[unit][field]
            );
        }
    }
}

/// A host's TLS key in the Nix store (which every local user reads) is refused as every other
/// secret file is.
#[test]
fn a_host_key_in_the_nix_store_is_refused() {
    let Some((project, _)) = fleet_in_project() else {
        return;
    };
    let hosts = evaluate_fleet_with_host(
        project.path(),
        "{ stackr.fleet.tls.keyFile = \"/nix/store/0000-tls-host.key\"; }",
    );
    let failed = hosts["data"]["failedAssertions"].to_string();
    assert!(
        failed.contains("secret files must live outside the Nix store"),
        "{failed}"
    );
}

/// What nix/fleet.nix places is the config's default for each host: a host's plain definition
/// wins, without `lib.mkForce`, where both were plain definitions of one option and failed to
/// evaluate. Here every host gives core's API a third replica (its loopback port with it) and
/// keeps its keys elsewhere on the deploying machine.
#[test]
fn a_host_sets_its_replicas_and_keys_folder_without_mk_force() {
    let Some((project, _)) = fleet_in_project() else {
        return;
    };
    let host = r#"{
      stackr.fleet.keysSource = "/srv/stackr-keys";
      stackr.fleet.services.core.api = { replicas = 3; ports = [ 18500 18501 18502 ]; };
    }"#;
    let hosts = evaluate_fleet_with_host(project.path(), host);
    for (name, system) in hosts.as_object().unwrap() {
        assert_eq!(system["failedAssertions"], serde_json::json!([]), "{name}");
    }
    let app = &hosts["app-core"];
    let units = strings(&app["stackr"]["fleet"]["processUnits"]);
    assert!(units.contains(&"stackr-core-api-3"), "{units:?}");
    let servers: BTreeSet<&str> = app["nginx"]["upstreams"]["stackr-core"]["servers"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        servers,
        BTreeSet::from(["127.0.0.1:18500", "127.0.0.1:18501", "127.0.0.1:18502"])
    );
    let key = &app["deployment"]["keys"]["core-db-password"]["keyCommand"];
    assert_eq!(
        strings(key),
        ["cat", "/srv/stackr-keys/core-db-password"],
        "{key}"
    );
}

/// A host raising a service's replicas without a loopback port for each new one is refused,
/// naming the service, the host and both counts, where the evaluation stopped at Nix's "list
/// index 2 is out of bounds" with no word of which option was short.
#[test]
fn replicas_without_a_port_each_are_refused_with_the_counts() {
    let Some((project, _)) = fleet_in_project() else {
        return;
    };
    let failed = stackr_testkit::evaluate_fleet_with_host(
        &common::nixos::modules_dir(),
        project.path(),
        "{ stackr.fleet.services.core.api.replicas = 3; }",
    )
    .map(|_| ())
    .expect_err("3 replicas on 2 ports");
    assert!(
        failed.contains("stackr.fleet.services.core.api")
            && failed.contains("3 replicas on app-core")
            && failed.contains("2 ports"),
        "{failed}"
    );
}

/// A service a host adds to the stack (`stackr.services.<name>` in its configuration) without
/// placing it is refused naming the service and where to place it, where the evaluation stopped
/// at Nix's "attribute 'extra' missing" deep in the module library.
#[test]
fn a_service_without_a_placement_is_refused_by_name() {
    let Some((project, _)) = fleet_in_project() else {
        return;
    };
    let host = r#"{ config, ... }: {
      stackr.services.extra = {
        package = config.stackr.services.core.package;
        port = 8090;
        postgres.port = 5490;
        redis.port = 6390;
      };
    }"#;
    let failed = stackr_testkit::evaluate_fleet_with_host(
        &common::nixos::modules_dir(),
        project.path(),
        host,
    )
    .map(|_| ())
    .expect_err("a service placed nowhere");
    assert!(
        failed.contains("stackr.fleet.services.extra")
            && failed.contains("stackr: service `extra`"),
        "{failed}"
    );
}

/// A value every host must agree on (a host's address, the host of a service's part) set in one
/// host's configuration only would leave the others connecting, firewalling and admitting by the
/// old one: that host's evaluation refuses it, naming the option, the two values and the hosts;
/// set on every host it is used.
#[test]
fn a_placement_value_changed_on_one_host_only_is_refused() {
    let Some((project, _)) = fleet_in_project() else {
        return;
    };
    let on_app_core_only = r#"{ config, lib, ... }: {
      stackr.fleet.hosts.data.address = lib.mkIf (config.stackr.fleet.thisHost == "app-core") "10.0.0.21";
    }"#;
    let hosts = evaluate_fleet_with_host(project.path(), on_app_core_only);
    let failed = hosts["app-core"]["failedAssertions"].to_string();
    assert!(
        failed.contains("stackr.fleet.hosts.data.address")
            && failed.contains("10.0.0.21")
            && failed.contains("10.0.0.20")
            && failed.contains("gate"),
        "{failed}"
    );
    assert!(
        hosts["gate"]["failedAssertions"]
            .to_string()
            .contains("stackr.fleet.hosts.data.address"),
        "{}",
        hosts["gate"]["failedAssertions"]
    );

    let everywhere = r#"{ stackr.fleet.hosts.data.address = "10.0.0.21"; stackr.fleet.services.core.redis.host = "data"; }"#;
    let hosts = evaluate_fleet_with_host(project.path(), everywhere);
    for (name, system) in hosts.as_object().unwrap() {
        assert_eq!(system["failedAssertions"], serde_json::json!([]), "{name}");
        assert_eq!(
            system["hosts"]["10.0.0.21"],
            serde_json::json!(["data"]),
            "{name}"
        );
    }
}

/// colmena connects to a host at the address its configuration gives: one set in every host's
/// configuration (agreed on, without `lib.mkForce`) is where `colmena apply` deploys it, where
/// the hive kept the placement's old address and deployed to a machine no longer there.
#[test]
fn colmena_deploys_a_host_at_the_address_its_configuration_gives() {
    let Some((project, _)) = fleet_in_project() else {
        return;
    };
    let hosts = evaluate_fleet_with_host(
        project.path(),
        r#"{ stackr.fleet.hosts.data.address = "10.0.0.21"; }"#,
    );
    assert_eq!(hosts["data"]["failedAssertions"], serde_json::json!([]));
    assert_eq!(hosts["data"]["deployment"]["targetHost"], "10.0.0.21");
    assert_eq!(hosts["gate"]["deployment"]["targetHost"], "10.0.0.10");
    assert_eq!(
        hosts["data"]["deployment"]["tags"],
        serde_json::json!(["core", "wallet"])
    );
}

/// A fleet host whose firewall is off opens every port to every host: evaluation says so.
#[test]
fn a_fleet_host_without_a_firewall_is_warned_about() {
    let Some((project, _)) = fleet_in_project() else {
        return;
    };
    let hosts = evaluate_fleet_with_host(project.path(), "{ networking.firewall.enable = false; }");
    let warnings = hosts["data"]["warnings"].to_string();
    assert!(
        warnings.contains("networking.firewall is off on data"),
        "{warnings}"
    );
}

/// A fleet host that trusts a network interface (`networking.firewall.trustedInterfaces`, as
/// hosts on a private network often do) opens every port of the stack to every host there, past
/// the rules that open each port to the hosts using it: evaluation says so. Loopback is no
/// such interface.
#[test]
fn a_fleet_host_trusting_an_interface_is_warned_about() {
    let Some((project, _)) = fleet_in_project() else {
        return;
    };
    let hosts = evaluate_fleet_with_host(
        project.path(),
        "{ networking.firewall.trustedInterfaces = [ \"lo\" \"eth1\" ]; }",
    );
    let warnings = hosts["data"]["warnings"].to_string();
    assert!(
        warnings.contains("networking.firewall.trustedInterfaces (eth1) on data"),
        "{warnings}"
    );
    let hosts = evaluate_fleet_with_host(
        project.path(),
        "{ networking.firewall.trustedInterfaces = [ \"lo\" ]; }",
    );
    let warnings = hosts["data"]["warnings"].to_string();
    assert!(!warnings.contains("trustedInterfaces"), "{warnings}");
}

/// Hosts placed on IPv6 addresses: the load balancer of auth, which other hosts call by name
/// (resolving to that address), listens on IPv6 as well, and connections leave from the placed
/// address.
#[test]
fn an_ipv6_host_listens_and_connects_on_its_placed_address() {
    if !nix_instantiate_available() {
        return;
    }
    let config = fixture_config("fleet").replace("\"10.0.0.", "\"fd00::");
    let project = generated_project(&config);
    let hosts = evaluate_fleet(project.path());
    let listen = &hosts["gate"]["nginx"]["virtualHosts"]["stackr-auth"]["listen"];
    let addresses: Vec<&str> = listen
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["addr"].as_str().unwrap())
        .collect();
    assert!(addresses.contains(&"[::]"), "{listen}");
    // An IPv4 host keeps IPv4 only (IPv6 may be off there: nginx would fail to bind it).
    let v4 = fleet().unwrap();
    let listen = &v4["gate"]["nginx"]["virtualHosts"]["stackr-auth"]["listen"];
    assert_eq!(listen.as_array().unwrap().len(), 1, "{listen}");

    // Connections leave an IPv6 host from its placed address, the one other hosts' firewalls and
    // pg_hba admit: NixOS's default makes a temporary (privacy) address the source where the
    // network hands out addresses (SLAAC), and every connection to another host was refused.
    for (name, system) in hosts.as_object().unwrap() {
        assert_eq!(system["tempAddresses"], "enabled", "{name}");
    }
    for (name, system) in &v4 {
        assert_eq!(system["tempAddresses"], "default", "{name}");
    }
}

#[test]
fn no_secret_is_in_the_store_and_colmena_uploads_each_one_a_host_reads() {
    let Some(fleet) = fleet() else { return };
    for (host, system) in &fleet {
        let deployment = &system["deployment"];
        assert_eq!(deployment["targetHost"], address(&fleet, host), "{host}");
        let secrets_dir = system["stackr"]["secretsDir"].as_str().unwrap();
        assert!(!secrets_dir.starts_with("/nix/store") && !secrets_dir.starts_with("/run/"));
        // What the host's units and Redis servers read from the secrets folder.
        let mut read: BTreeSet<String> = units(system)
            .values()
            .flat_map(|u| {
                credentials(u)
                    .into_iter()
                    .map(|(_, source)| source.to_owned())
            })
            .collect();
        read.extend(
            system["redis"]
                .as_object()
                .unwrap()
                .values()
                .filter_map(|s| s["requirePassFile"].as_str().map(str::to_owned)),
        );
        let keys = deployment["keys"].as_object().unwrap();
        let uploaded: BTreeSet<String> = keys
            .values()
            .map(|k| k["path"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            uploaded, read,
            "{host}: uploaded keys and secrets read differ"
        );
        for (name, key) in keys {
            assert!(
                key["keyFile"].is_null() && key["text"].is_null(),
                "{host} {name}: a key given as a file or text is copied into the store"
            );
            let command = strings(&key["keyCommand"]).join(" ");
            let source = system["stackr"]["fleet"]["keysSource"].as_str().unwrap();
            assert!(
                command.starts_with(&format!("cat {source}/")) && !command.contains("/nix/store"),
                "{host} {name}: {command}"
            );
            assert_eq!(key["permissions"], "0400", "{host} {name}");
            assert_eq!(key["user"], "root", "{host} {name}");
        }
        // Only the host's own certificate is uploaded to it.
        if let Some(cert) = keys.get("tls-host.key") {
            assert_eq!(
                strings(&cert["keyCommand"]).join(" "),
                format!("cat .stackr/deploy/hosts/{host}/tls-host.key")
            );
        }
        for vhost in system["nginx"]["virtualHosts"]
            .as_object()
            .unwrap()
            .values()
        {
            if let Some(key) = vhost["sslCertificateKey"].as_str() {
                assert!(key.starts_with("/run/credentials/"), "{host}: {key}");
            }
        }
    }
}

#[test]
fn stackr_secrets_creates_every_file_colmena_uploads() {
    let Some((project, fleet)) = fleet_in_project() else {
        return;
    };
    assert!(stackr::git_repository::start(project.path()).unwrap());
    let output = common::stackr(project.path(), &["secrets"]);
    assert!(output.status.success(), "{}", common::stderr(&output));
    for (host, system) in &fleet {
        for (name, key) in system["deployment"]["keys"].as_object().unwrap() {
            let command = strings(&key["keyCommand"]);
            let [cat, file] = command[..] else {
                panic!("{host} {name}: {command:?}")
            };
            assert_eq!(cat, "cat");
            assert!(
                project.path().join(file).is_file(),
                "{host} {name}: `stackr secrets` did not create {file}"
            );
        }
    }
}

#[test]
fn api_replicas_sit_behind_a_health_checked_load_balancer_and_workers_are_placed() {
    let Some(fleet) = fleet() else { return };
    let plan = fixture_plan("fleet");
    let placed = plan.fleet.as_ref().unwrap();
    for service in &placed.services {
        let host = &fleet[&service.api.host];
        // Where each replica's socket unit listens: a loopback port, or (auth's) a socket file.
        let ports: BTreeSet<String> = (1..=service.api.replicas)
            .map(|i| {
                let unit = format!("stackr-{}-api-{i}", service.name);
                let listens = strings(&host["sockets"][&unit]["listenStreams"]);
                match listens[..] {
                    [path] if path.starts_with('/') => format!("unix:{path}"),
                    [address] => address.to_owned(),
                    _ => panic!("{unit}: {listens:?}"),
                }
            })
            .collect();
        assert_eq!(
            ports.len() as u32,
            service.api.replicas,
            "{}: replicas share a port",
            service.name
        );
        let upstream = &host["nginx"]["upstreams"][format!("stackr-{}", service.name)]["servers"];
        let servers: BTreeSet<String> = upstream.as_object().unwrap().keys().cloned().collect();
        assert_eq!(servers, ports, "{}", service.name);
        for server in upstream.as_object().unwrap().values() {
            assert!(
                server["max_fails"].as_u64().is_some_and(|n| n > 0)
                    && server["fail_timeout"].is_string(),
                "{}: upstream without health checks: {server}",
                service.name
            );
        }
        let vhost = &host["nginx"]["virtualHosts"][format!("stackr-{}", service.name)];
        let port = plan
            .services
            .iter()
            .find(|s| s.name == service.name)
            .unwrap()
            .port;
        assert_eq!(vhost["listen"][0]["port"], port, "{}", service.name);
        let location = &vhost["locations"]["/"];
        assert_eq!(
            location["proxyPass"],
            format!("http://stackr-{}", service.name)
        );
        assert!(location["extraConfig"]
            .as_str()
            .unwrap()
            .contains("proxy_next_upstream error timeout"));
        // No other host runs this service's API or workers.
        for (other, system) in &fleet {
            let count = |role: &str| {
                units(system)
                    .keys()
                    // Not an API's `-sockets` unit (modules/units.nix), which runs no process.
                    .filter(|u| {
                        u.starts_with(&format!("stackr-{}-{role}", service.name))
                            && !u.ends_with("-sockets")
                    })
                    .count() as u32
            };
            let wanted = |replicas: Option<&stackr::plan::placement::PlacedReplicas>| {
                replicas
                    .filter(|r| &r.host == other)
                    .map_or(0, |r| r.replicas)
            };
            assert_eq!(
                count("api"),
                wanted(Some(&service.api)),
                "{other} {}",
                service.name
            );
            assert_eq!(
                count("worker"),
                wanted(service.worker.as_ref()),
                "{other} {}",
                service.name
            );
        }
    }
}

/// pg_hba rule fields: type, database, user, address (None for `local`), method.
fn hba_rules(pre_start: &str) -> Vec<Vec<String>> {
    let (_, rest) = pre_start.split_once("<<'HBA'\n").expect("pg_hba heredoc");
    let (rules, _) = rest.split_once("\nHBA").unwrap_or((rest, ""));
    rules
        .lines()
        .map(|l| {
            l.split_whitespace()
                .map(|w| w.trim_matches('"').to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|f| !f.is_empty())
        .collect()
}

/// Whether a TCP login of `user` to `database` from `source` over TLS gets a password prompt
/// (first matching rule; `host` rules match TLS too, `hostssl` only TLS).
fn admitted(rules: &[Vec<String>], database: &str, user: &str, source: &str) -> bool {
    rules
        .iter()
        .find(|r| {
            matches!(r[0].as_str(), "host" | "hostssl")
                && (r[1] == "all" || r[1] == database)
                && (r[2] == "all" || r[2] == user)
                && (r[3] == "all" || r[3].split('/').next() == Some(source))
        })
        .is_some_and(|r| r[4] == "scram-sha-256")
}

#[test]
fn a_service_cannot_reach_another_services_database() {
    let Some(fleet) = fleet() else { return };
    let data = &fleet["data"];
    let openings = firewall_openings(data);
    for (owner, owner_host, other, other_host) in [
        ("core", "app-core", "wallet", "app-wallet"),
        ("wallet", "app-wallet", "core", "app-core"),
    ] {
        let server = &units(data)[&format!("stackr-{owner}-postgresql")];
        let port: u16 = server["environment"]["PGPORT"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let rules = hba_rules(server["preStart"].as_str().unwrap());
        let (own_address, other_address) =
            (address(&fleet, owner_host), address(&fleet, other_host));
        assert!(
            admitted(&rules, owner, owner, own_address),
            "{owner}: {rules:?}"
        );
        assert!(
            rules
                .iter()
                .filter(|r| r[0] != "local")
                .all(|r| r[0] == "hostssl" || r[3].starts_with("127.")),
            "{owner}: a rule admits non-TLS logins from another host: {rules:?}"
        );
        for (user, source) in [
            (other, other_address),
            (other, own_address),
            (owner, other_address),
            ("postgres", own_address),
        ] {
            assert!(
                !admitted(&rules, owner, user, source),
                "{owner}'s database admits {user} from {source}"
            );
        }
        assert!(openings.contains(&(port, own_address.to_owned())));
        assert!(
            !openings.contains(&(port, other_address.to_owned())),
            "{owner}'s PostgreSQL is open to {other_host}"
        );
        let allowed = strings(&server["serviceConfig"]["IPAddressAllow"]);
        assert!(
            !allowed.iter().any(|a| a.starts_with(other_address)),
            "{owner}: {allowed:?}"
        );
        let redis_port = fleet[owner_host]["stackr"]["services"][owner]["redis"]["port"]
            .as_u64()
            .unwrap() as u16;
        assert!(
            !openings.contains(&(redis_port, other_address.to_owned())),
            "{owner}'s Redis is open to {other_host}"
        );
    }
}

/// The firewall is not the only fence of a service's PostgreSQL and Redis: a host that trusts its
/// network interface (`networking.firewall.trustedInterfaces`) or turns the firewall off would
/// let every host reach them, with the password their last check. Each server's unit admits only
/// loopback, its own host's address (a program there reaching it by the host's name, as an
/// operator's `redis-cli -h data` does: refused, its packets would be dropped and it would hang)
/// and the addresses of the service's own hosts, and opens no connection elsewhere (`REPLICAOF`
/// a host of the caller's choosing).
#[test]
fn a_services_stores_admit_only_its_own_hosts_whatever_the_firewall() {
    let Some(fleet) = fleet() else { return };
    let data = &fleet["data"];
    let here = format!("{}/32", address(&fleet, "data"));
    for (owner, owner_host) in [("core", "app-core"), ("wallet", "app-wallet")] {
        let own = format!("{}/32", address(&fleet, owner_host));
        for unit in [
            format!("redis-{owner}"),
            format!("stackr-{owner}-postgresql"),
        ] {
            let server = &units(data)[&unit]["serviceConfig"];
            assert_eq!(server["IPAddressDeny"], "any", "{unit} on data: {server}");
            let mut allowed = strings(&server["IPAddressAllow"]);
            allowed.sort_unstable();
            let mut expected = ["localhost", here.as_str(), own.as_str()];
            expected.sort_unstable();
            assert_eq!(allowed, expected, "{unit} on data");
        }
    }
}

#[test]
fn only_a_placed_stack_gets_nix_fleet_nix_and_agents_md_names_it_generated() {
    let files = |fixture: &str| stackr::generate_in_memory(&fixture_config(fixture)).unwrap();
    let fleet = files("fleet");
    let agents = &fleet
        .iter()
        .find(|f| f.path == "AGENTS.md")
        .unwrap()
        .content;
    assert!(fleet.iter().any(|f| f.path == "nix/fleet.nix"));
    assert!(agents.contains("`nix/fleet.nix`"), "{agents}");
    let single = files("minimal");
    assert!(!single.iter().any(|f| f.path == "nix/fleet.nix"));
}

/// A stack placed on hosts, then not any more: `generate` turns `nix/fleet.nix` into an error a
/// flake still importing it stops on, so no deploy uses the last placement's hosts.
#[test]
fn a_fleet_file_left_by_a_removed_placement_stops_the_flake() {
    let project = project_with_config(&fixture_config("fleet"));
    assert!(stackr(project.path(), &["generate"]).status.success());
    let mut config: Value = serde_json::from_str(&fixture_config("fleet")).unwrap();
    config.as_object_mut().unwrap().remove("placement");
    std::fs::write(
        project.path().join("stackr.config.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    let check = stackr(project.path(), &["generate", "--check"]);
    assert!(!check.status.success(), "the stale file is drift");
    assert!(stackr(project.path(), &["generate"]).status.success());
    let fleet = std::fs::read_to_string(project.path().join("nix/fleet.nix")).unwrap();
    assert!(
        fleet.contains("throw \"stackr: nix/fleet.nix is left from a placement"),
        "{fleet}"
    );
    assert!(stackr(project.path(), &["generate", "--check"])
        .status
        .success());
    if nix_instantiate_available() {
        let evaluated = Command::new("nix-instantiate")
            .args(["--eval", "-E"])
            .arg(format!("import {}/nix/fleet.nix", project.path().display()))
            .output()
            .unwrap();
        assert!(!evaluated.status.success());
        assert!(String::from_utf8_lossy(&evaluated.stderr).contains("remove the fleet lines"));
    }
}

/// A realistic mistake in the module library and the test of this file that must catch it, with
/// a text of its failure.
struct Mistake {
    file: &'static str,
    from: &'static str,
    to: &'static str,
    test: &'static str,
    caught: &'static str,
}

const MISTAKES: &[Mistake] = &[
    Mistake {
        file: "units.nix",
        from: "SocketMode = \"0660\";",
        to: "SocketMode = \"0666\";",
        test: "every_host_evaluates_to_a_sound_system",
        caught: "any local user may connect",
    },
    Mistake {
        file: "units.nix",
        from: "trustedProxies = cfg.auth.trustedProxies;",
        to: "trustedProxies = lib.optional inFleet \"127.0.0.1\" ++ cfg.auth.trustedProxies;",
        test: "auth_believes_forwarded_for_only_from_its_balancers_socket",
        caught: "any local user may connect from loopback",
    },
    Mistake {
        file: "redis.nix",
        from: "port = 0;",
        to: "port = svc.redis.port;",
        test: "every_connection_between_hosts_is_tls_verified_by_name",
        caught: "a plain listener beside TLS",
    },
    Mistake {
        file: "units.nix",
        from: "?sslmode=verify-full&sslrootcert=%d/tls-ca",
        to: "?sslmode=require",
        test: "every_connection_between_hosts_is_tls_verified_by_name",
        caught: "not verify-full against a loaded CA",
    },
    Mistake {
        file: "fleet.nix",
        from: "onlySSL = true;",
        to: "onlySSL = false;",
        test: "every_connection_between_hosts_is_tls_verified_by_name",
        caught: "a load balancer without TLS",
    },
    Mistake {
        file: "fleet.nix",
        from: "clients = others (clientHosts cfg name);",
        to: "clients = others (lib.attrNames fleet.hosts);",
        test: "firewalls_open_exactly_the_ports_other_hosts_use_to_those_hosts",
        caught: "failed: data",
    },
    Mistake {
        file: "postgresql.nix",
        from: "\"hostssl ${id} ${id} ${cidr a} scram-sha-256\\n\"",
        to: "\"hostssl ${id} all ${cidr a} scram-sha-256\\n\"",
        test: "a_service_cannot_reach_another_services_database",
        caught: "database admits",
    },
    Mistake {
        file: "colmena.nix",
        from: "permissions = \"0400\";",
        to: "permissions = \"0444\";",
        test: "no_secret_is_in_the_store_and_colmena_uploads_each_one_a_host_reads",
        caught: "0444",
    },
    Mistake {
        file: "fleet.nix",
        from: "{ max_fails = 2; fail_timeout = \"10s\"; }",
        to: "{ }",
        test: "api_replicas_sit_behind_a_health_checked_load_balancer_and_workers_are_placed",
        caught: "upstream without health checks",
    },
];

/// Each test above can fail: run again (this test binary, one test) against a module library
/// with one mistake, it fails and says why.
#[test]
fn each_fleet_check_catches_its_mistake() {
    if !nix_instantiate_available() || std::env::var_os(common::nixos::MODULES_ENV).is_some() {
        return;
    }
    for mistake in MISTAKES {
        let modules = common::nixos::mutated_modules(mistake.file, mistake.from, mistake.to);
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                &format!("fleet_eval::{}", mistake.test),
                "--exact",
                "--test-threads=1",
            ])
            .env(common::nixos::MODULES_ENV, modules.path())
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && text.contains("1 failed") && text.contains(mistake.caught),
            "{}: `{}` -> `{}` must fail {} with `{}`:\n{text}",
            mistake.file,
            mistake.from,
            mistake.to,
            mistake.test,
            mistake.caught
        );
    }
}

/// A base service calls the others (`SERVICE_URLS`, the user's cookie forwarded) where they
/// run: through that service's load balancer, by its host's name over HTTPS (verified against the
/// deployment CA, as `AUTH_URL` is), on its own host as on another. Never at a
/// loopback port of a host where the other service does not run: nothing of the stack listens
/// there, so any local user may bind that port (it is above 1024) and receive every cookie the
/// service forwards; `stackr dev` holds such ports for that reason (supervisor/src/port_hold.rs).
#[test]
fn calls_to_another_service_reach_its_host_and_never_a_free_loopback_port() {
    let Some(fleet) = fleet() else { return };
    let plan = fixture_plan("fleet");
    let placed = plan.fleet.as_ref().unwrap();
    let api_host = |service: &str| -> &str {
        &placed
            .services
            .iter()
            .find(|s| s.name == service)
            .unwrap()
            .api
            .host
    };
    let mut checked = 0;
    for (host, system) in &fleet {
        // What listens on this host for the stack: the load balancers' ports.
        let local_ports: BTreeSet<u64> = system["nginx"]["virtualHosts"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|v| v["listen"].as_array().unwrap().iter())
            .filter_map(|l| l["port"].as_u64())
            .collect();
        for (unit, config) in units(system) {
            let Some(urls) = config["environment"]["SERVICE_URLS"].as_str() else {
                continue;
            };
            for entry in urls.split(',') {
                let (service, url) = entry.split_once('=').unwrap();
                let context = format!("{host} {unit}: SERVICE_URLS {service}={url}");
                let target = api_host(service);
                checked += 1;
                if target == host {
                    // Its load balancer here speaks TLS only, for the other hosts' callers.
                    assert!(
                        url.starts_with(&format!("https://{host}:"))
                            && local_ports.contains(&u64::from(url_port(url).unwrap())),
                        "{context}: its own host's load balancer, by the host's name"
                    );
                } else {
                    // Not a port of this host's loopback, where nothing of the stack listens and
                    // a local user who binds it would receive the cookies.
                    assert!(
                        url.starts_with(&format!("https://{target}:")),
                        "{context}: `{service}` runs on {target}: call it there over verified TLS"
                    );
                }
            }
        }
    }
    assert!(checked > 0);
}

/// Auth's replicas sit behind the host's nginx, which appends each client's address to
/// `X-Forwarded-For`; auth must believe it from nginx alone. Were the replicas on a loopback port
/// with loopback trusted, every local user (any process of the host) could connect there past
/// nginx and name any client: a fresh sign-in limit per made-up address, another's address
/// rate-limited out, false session records. So each replica listens on a socket file only
/// nginx's group may open, nginx proxies to those files, and no loopback address is trusted.
#[test]
fn auth_believes_forwarded_for_only_from_its_balancers_socket() {
    let Some(fleet) = fleet() else { return };
    let gate = &fleet["gate"];
    let location = &gate["nginx"]["virtualHosts"]["stackr-auth"]["locations"]["/"];
    assert!(location["extraConfig"]
        .as_str()
        .unwrap()
        .contains("X-Forwarded-For $proxy_add_x_forwarded_for"));
    let upstream: BTreeSet<&str> = gate["nginx"]["upstreams"]["stackr-auth"]["servers"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let replicas: Vec<(&String, &Value)> = units(gate)
        .iter()
        .filter(|(name, _)| name.starts_with("stackr-auth-api-") && !name.ends_with("-sockets"))
        .collect();
    assert!(!replicas.is_empty());
    assert_eq!(upstream.len(), replicas.len(), "{upstream:?}");
    for (name, unit) in replicas {
        let proxies = unit["environment"]["AUTH_TRUSTED_PROXIES"]
            .as_str()
            .unwrap_or("");
        assert!(
            !proxies.split(',').map(str::trim).any(|p| p.starts_with("127.") || p.starts_with("::1")),
            "gate {name}: AUTH_TRUSTED_PROXIES = `{proxies}`: any local user may connect from loopback"
        );
        let socket = &gate["sockets"][name.as_str()];
        let path = format!("/run/{name}.sock");
        assert_eq!(strings(&socket["listenStreams"]), [path.as_str()], "{name}");
        assert_eq!(socket["socketConfig"]["SocketGroup"], "nginx", "{name}");
        assert_eq!(socket["socketConfig"]["SocketMode"], "0660", "{name}");
        assert_eq!(
            socket["socketConfig"]["FileDescriptorName"], "api",
            "{name}"
        );
        assert!(
            upstream.contains(format!("unix:{path}").as_str()),
            "{name}: {upstream:?}"
        );
    }
    // The other services' replicas read no such header: they keep their loopback ports.
    let core = &fleet["app-core"]["nginx"]["upstreams"]["stackr-core"]["servers"];
    assert!(
        core.as_object()
            .unwrap()
            .keys()
            .all(|k| k.starts_with("127.0.0.1:")),
        "{core}"
    );
}

/// API replicas serve only through the load balancer in front of them (for auth, the one that
/// speaks TLS): they listen on loopback, as the placement says (`replicaPortStart`), not on every
/// interface, where a host whose firewall is off or trusts an interface exposes them in plain
/// HTTP, past nginx's TLS and health checks.
#[test]
fn api_replicas_listen_on_loopback_only() {
    let Some(fleet) = fleet() else { return };
    let mut checked = 0;
    for (host, system) in &fleet {
        for (name, unit) in units(system) {
            let is_replica = name.starts_with("stackr-")
                && name.contains("-api-")
                && unit["environment"]["PORT"].is_string();
            if !is_replica {
                continue;
            }
            checked += 1;
            assert_eq!(
                unit["environment"]["LISTEN_ADDRESS"].as_str(),
                Some("127.0.0.1"),
                "{host} {name}: unset LISTEN_ADDRESS is every interface (runtime/contract/src/env.rs listen_address)"
            );
        }
    }
    assert!(checked >= 5, "replicas checked: {checked}");
}

/// A store that binds a TCP port (here: core's PostgreSQL and Redis on the database host, for
/// the API and worker hosts, TLS) clashes with a Redis of the host's own on that port: refused
/// on that host, naming both, and on no other host (where nothing of core's binds it).
#[test]
fn a_host_redis_on_a_port_a_store_binds_is_refused_on_that_host_only() {
    let Some((project, hosts)) = fleet_in_project() else {
        return;
    };
    let services = &hosts["data"]["stackr"]["services"]["core"];
    for (port, what) in [
        (&services["redis"]["port"], "core's Redis"),
        (&services["postgres"]["port"], "core's PostgreSQL"),
    ] {
        let host =
            format!("{{ services.redis.servers.cache = {{ enable = true; port = {port}; }}; }}");
        let fleet = evaluate_fleet_with_host(project.path(), &host);
        for (name, system) in fleet.as_object().unwrap() {
            let failed = system["failedAssertions"].to_string();
            if name == "data" {
                assert!(
                    failed.contains(&format!("{what} on {port}"))
                        && failed.contains(&format!("the host's Redis `cache` on {port}")),
                    "{name}: {failed}"
                );
            } else {
                assert_eq!(system["failedAssertions"], serde_json::json!([]), "{name}");
            }
        }
    }
}

/// An API's port is bound only on the host its API runs on (nginx in front of its replicas
/// there), and auth's admin port only on auth's: a Redis of a host's own on those ports is
/// refused on that host, naming both, and is no clash on a host where nothing binds them (a
/// fleet's hosts each run a few of the stack's services, and may use the others' ports).
#[test]
fn a_host_redis_on_an_api_port_is_refused_only_where_that_api_runs() {
    let Some((project, hosts)) = fleet_in_project() else {
        return;
    };
    let services = &hosts["gate"]["stackr"]["services"];
    for (port, what, runs_on) in [
        (&services["core"]["port"], "core's API", "app-core"),
        (&services["auth"]["adminPort"], "auth's admin page", "gate"),
    ] {
        assert!(port.is_u64(), "{what}: {port}");
        let host =
            format!("{{ services.redis.servers.cache = {{ enable = true; port = {port}; }}; }}");
        let fleet = evaluate_fleet_with_host(project.path(), &host);
        for (name, system) in fleet.as_object().unwrap() {
            let failed = system["failedAssertions"].to_string();
            if name == runs_on {
                assert!(
                    failed.contains(&format!("{what} on {port}"))
                        && failed.contains(&format!("the host's Redis `cache` on {port}")),
                    "{name}: {failed}"
                );
            } else {
                assert_eq!(
                    system["failedAssertions"],
                    serde_json::json!([]),
                    "{what}: {name}"
                );
            }
        }
    }
}

/// An API replica's loopback port (`placement.replicaPortStart` on) is bound early in boot by
/// its socket unit: a Redis of the host's own on it would fail to start, so it is a clash,
/// refused on each host running a replica there (each host's replicas count from the start) and
/// nowhere else. Auth's replicas listen on socket files and take no port.
#[test]
fn a_host_redis_on_a_replicas_port_is_refused_where_such_a_replica_runs() {
    let Some((project, hosts)) = fleet_in_project() else {
        return;
    };
    let placed = &hosts["gate"]["stackr"]["fleet"]["services"];
    let port = &placed["core"]["api"]["ports"][1];
    // The hosts whose replicas (not auth's) listen on `port`, by service.
    let replicas_on: BTreeMap<&str, &str> = placed
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, service)| {
            *name != "auth" && service["api"]["ports"].as_array().unwrap().contains(port)
        })
        .map(|(name, service)| (service["api"]["host"].as_str().unwrap(), name.as_str()))
        .collect();
    assert_eq!(replicas_on.len(), 2, "{replicas_on:?}");
    let host = format!("{{ services.redis.servers.cache = {{ enable = true; port = {port}; }}; }}");
    let fleet = evaluate_fleet_with_host(project.path(), &host);
    for (name, system) in fleet.as_object().unwrap() {
        let failed = system["failedAssertions"].to_string();
        match replicas_on.get(name.as_str()) {
            Some(service) => assert!(
                failed.contains(&format!("{service}'s API replica 2 on {port}"))
                    && failed.contains(&format!("the host's Redis `cache` on {port}")),
                "{name}: {failed}"
            ),
            None => assert_eq!(system["failedAssertions"], serde_json::json!([]), "{name}"),
        }
    }
}

/// Each load balancer sends a replica the `Host` and `X-Forwarded-For` headers once (the
/// client's address appended, as auth's trusted proxies expect), whether or not the host turns
/// on nixpkgs' `services.nginx.recommendedProxySettings`, which adds its own set of those
/// headers to every proxying location that does not turn it off. Read from the nginx config
/// the evaluated system runs (nixpkgs' rendering modelled in tests/nixos/nixpkgs-units.nix).
#[test]
fn load_balancers_send_each_proxy_header_once_whatever_the_hosts_proxy_settings() {
    let Some((project, _)) = fleet_in_project() else {
        return;
    };
    for host in [
        "{ }",
        "{ services.nginx.recommendedProxySettings = true; }",
        "{ services.nginx.recommendedProxySettings = false; }",
    ] {
        let fleet = evaluate_fleet_with_host(project.path(), host);
        let mut locations = 0;
        for (name, system) in fleet.as_object().unwrap() {
            assert_eq!(
                system["failedAssertions"],
                serde_json::json!([]),
                "{host} {name}"
            );
            if system["nginx"]["enable"] != true {
                continue;
            }
            let config = system["storeFiles"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(path, _)| path.ends_with("/nginx.conf"))
                .map_or_else(
                    || panic!("{host} {name}: no nginx.conf"),
                    |(_, text)| text.as_str().unwrap().to_owned(),
                );
            for block in config.split("location ").skip(1) {
                let block = block.split('}').next().unwrap();
                locations += 1;
                let headers: Vec<Vec<&str>> = block
                    .lines()
                    .map(|line| line.split_whitespace().collect::<Vec<_>>())
                    .filter(|words| words.first() == Some(&"proxy_set_header"))
                    .collect();
                for (header, value) in [
                    ("Host", "$host;"),
                    ("X-Forwarded-For", "$proxy_add_x_forwarded_for;"),
                ] {
                    let sent: Vec<&Vec<&str>> = headers
                        .iter()
                        .filter(|words| {
                            words.get(1).is_some_and(|h| h.eq_ignore_ascii_case(header))
                        })
                        .collect();
                    assert_eq!(
                        sent.len(),
                        1,
                        "{host} {name}: {header} set {} times in\nlocation {block}",
                        sent.len()
                    );
                    assert_eq!(sent[0].get(2), Some(&value), "{host} {name}: {header}");
                }
            }
        }
        assert!(locations > 0, "{host}: no load balancer");
    }
}

/// The TCP port each API socket of `system` listens on, by socket unit.
fn socket_ports(system: &Value) -> BTreeMap<String, String> {
    system["sockets"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(unit, socket)| {
            socket["listenStreams"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|listen| listen.as_str()?.rsplit(':').next()?.parse::<u16>().ok())
                .map(|port| (port.to_string(), unit.clone()))
        })
        .collect()
}

/// Scaling one service's API replicas up or down on a host that runs another service's replicas
/// too leaves the other's ports alone. A deploy reaches a changed socket only by restarting it
/// (the API's `-sockets` unit, reloaded in parallel with the others'): a socket moved onto a
/// port another socket of the old generation still held failed to bind, and its API was left
/// down with the port free, until someone restarted it by hand.
#[test]
fn scaling_a_service_moves_no_other_services_replica_port() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let app = |core_replicas: u32| {
        let config = format!(
            r#"{{
  "name": "fleet",
  "services": [
    {{ "name": "auth", "kind": "auth", "baseUrl": "https://auth.example.com" }},
    {{ "name": "core" }},
    {{ "name": "wallet" }}
  ],
  "placement": {{
    "hosts": [
      {{ "name": "gate", "address": "10.0.0.10", "runs": {{ "auth": {{ "api": 1, "postgres": true, "redis": true }} }} }},
      {{
        "name": "app",
        "address": "10.0.0.11",
        "runs": {{ "core": {{ "api": {core_replicas}, "worker": 1 }}, "wallet": {{ "api": 2, "worker": 1 }} }}
      }},
      {{
        "name": "data",
        "address": "10.0.0.20",
        "runs": {{
          "core": {{ "postgres": true, "redis": true }},
          "wallet": {{ "postgres": true, "redis": true }}
        }}
      }}
    ]
  }}
}}"#
        );
        let project = generated_project(&config);
        socket_ports(&evaluate_fleet(project.path())["app"])
    };
    let (two, three) = (app(2), app(3));
    assert!(
        three.values().any(|unit| unit == "stackr-core-api-3"),
        "{three:?}"
    );
    for (port, unit) in &three {
        if let Some(before) = two.get(port) {
            assert_eq!(
                before, unit,
                "port {port}: {before} with two core replicas, {unit} with three"
            );
        }
    }
    for unit in ["stackr-wallet-api-1", "stackr-wallet-api-2"] {
        let port = |ports: &BTreeMap<String, String>| {
            ports
                .iter()
                .find(|(_, u)| *u == unit)
                .map(|(port, _)| port.clone())
        };
        assert_eq!(port(&two), port(&three), "{unit}: {two:?} {three:?}");
    }
}
