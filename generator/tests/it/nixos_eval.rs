//! Evaluates the module library with every generated project (the repository's own config and
//! each fixture) as a NixOS host, with nixpkgs' real `lib.evalModules` against NixOS option
//! declarations typed as nixpkgs types them (tests/nixos/), then checks the system's properties
//! (tests/it/common/nixos.rs) and that the deployed processes get what the dev processes get.
//! Skipped when nix-instantiate is not installed; fails when nixpkgs' lib is missing.

use crate::common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::nixos::{
    evaluate_system, minimal_system, modules_dir, repo_root, role_confinement_violations, strings,
    violations,
};
use common::{
    fixture_config, fixture_plan, generated_project, nix_instantiate_available, FIXTURES,
};
use serde_json::Value;
use stackr::plan::Plan;

/// Host settings every project is evaluated with: as generated, and as the VM test deploys it.
const HOSTS: &[&str] = &["{ }", "{ stackr.secrets.generate = true; }"];

/// Each project (name, plan, folder with its generated `nix/`), evaluated on each host.
fn systems() -> Vec<(String, Plan, Value)> {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return Vec::new();
    }
    let mut projects: Vec<(String, Plan, Option<tempfile::TempDir>, PathBuf)> = vec![{
        let text = std::fs::read_to_string(repo_root().join("stackr.config.json")).unwrap();
        let (_, model) =
            stackr::project::check_config_text(std::path::Path::new("stackr.config.json"), &text)
                .unwrap();
        (
            "repository".to_owned(),
            stackr::plan::plan(&model),
            None,
            repo_root(),
        )
    }];
    for fixture in FIXTURES {
        let dir = generated_project(&fixture_config(fixture));
        let path = dir.path().to_owned();
        projects.push((fixture.to_string(), fixture_plan(fixture), Some(dir), path));
    }
    let mut systems = Vec::new();
    for (name, plan, _dir, path) in &projects {
        for host in HOSTS {
            let system = evaluate_system(&modules_dir(), path, host)
                .unwrap_or_else(|error| panic!("{name} with host {host}: {error}"));
            systems.push((format!("{name} with host {host}"), plan.clone(), system));
        }
    }
    systems
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn every_project_evaluates_to_a_sound_system() {
    for (name, _, system) in systems() {
        let found = violations(&system);
        assert!(found.is_empty(), "{name}:\n{}", found.join("\n"));
    }
}

#[test]
fn units_are_hardened_and_deployed_environment_matches_dev() {
    for (name, plan, system) in systems() {
        let units = &system["units"];
        for service in &plan.services {
            let mut processes = vec![("api", &service.api_env)];
            if service.worker_bin.is_some() {
                processes.push(("worker", &service.worker_env));
            }
            for (role, dev_env) in processes {
                let unit = &units[format!("stackr-{}-{role}", service.name)];
                // Dev sizes the pools to its small per-service servers, and keeps its APIs on
                // loopback; a host's servers take the kit's default pool, and its APIs listen on
                // every interface (the default), behind the host's firewall.
                let dev_only = [
                    stackr_contract::env::DATABASE_POOL_SIZE,
                    stackr_contract::env::LISTEN_ADDRESS,
                ];
                let dev: BTreeSet<String> = dev_env
                    .iter()
                    .map(|e| e.name.clone())
                    .filter(|name| !dev_only.contains(&name.as_str()))
                    .collect();
                assert_eq!(
                    keys(&unit["environment"]),
                    dev,
                    "{name}: {} {role}",
                    service.name
                );
                // The roles auth lets an admin give and the dashboard's address are the
                // config's, deployed as in dev.
                for var in dev_env
                    .iter()
                    .filter(|e| ["AUTH_ROLES", "AUTH_ADMIN_BIND"].contains(&e.name.as_str()))
                {
                    assert_eq!(
                        unit["environment"][&var.name],
                        var.value.as_str(),
                        "{name}: {}",
                        var.name
                    );
                }
                // The services that get no cookie, whatever the order they are listed in.
                let names = |list: &str| -> BTreeSet<String> {
                    list.split(',')
                        .filter(|n| !n.is_empty())
                        .map(str::to_owned)
                        .collect()
                };
                for var in dev_env
                    .iter()
                    .filter(|e| e.name == stackr_contract::env::ANONYMOUS_SERVICES)
                {
                    let deployed = unit["environment"][&var.name].as_str().unwrap_or_default();
                    assert_eq!(
                        names(deployed),
                        names(&var.value),
                        "{name}: {} {role}",
                        service.name
                    );
                }
                let config = &unit["serviceConfig"];
                for (key, wanted) in [
                    ("NoNewPrivileges", Value::Bool(true)),
                    ("PrivateTmp", true.into()),
                    ("ProtectSystem", "strict".into()),
                    ("CapabilityBoundingSet", "".into()),
                ] {
                    assert_eq!(config[key], wanted, "{name}: {} {role} {key}", service.name);
                }
            }
        }
    }
}

/// Every stackr unit that runs a program as a service identity is sandboxed as the API is,
/// whatever the PostgreSQL mode: in shared mode the `-db` unit runs psql as the system server's
/// own superuser identity (`postgres`), the one that can do anything to every database of the
/// host, and reads the role's password.
#[test]
fn every_unit_running_as_a_service_identity_is_sandboxed() {
    for (name, _, system) in systems() {
        for (unit_name, unit) in system["units"].as_object().unwrap() {
            let config = &unit["serviceConfig"];
            if !unit_name.starts_with("stackr-") || config["User"].is_null() {
                continue;
            }
            for (key, wanted) in [
                ("NoNewPrivileges", Value::Bool(true)),
                ("PrivateTmp", true.into()),
                ("PrivateDevices", true.into()),
                ("ProtectHome", true.into()),
                ("ProtectSystem", "strict".into()),
                ("CapabilityBoundingSet", "".into()),
            ] {
                assert_eq!(config[key], wanted, "{name}: {unit_name} {key}");
            }
        }
    }
}

#[test]
fn open_firewall_opens_only_the_api_port() {
    let host =
        "{ stackr.services.auth.openFirewall = true; stackr.services.core.openFirewall = true; }";
    let Some(system) = minimal_system(host) else {
        return;
    };
    let plan = fixture_plan("minimal");
    let mut opened: Vec<u64> = system["firewall"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    opened.sort();
    let mut apis: Vec<u64> = plan.services.iter().map(|s| u64::from(s.port)).collect();
    apis.sort();
    assert_eq!(
        opened, apis,
        "the admin page binds loopback and stays closed"
    );
}

/// A service's own PostgreSQL server runs the major version nixpkgs would choose for the
/// system's by `system.stateVersion`, whatever the system server's own package: a nixpkgs
/// upgrade that moves `pkgs.postgresql` to a new major version (whose server refuses the data
/// folders of the old one) changes neither, nor does the host upgrading its own system server
/// (`services.postgresql.package`). The system PostgreSQL is off in per-service mode unless the
/// host runs one of its own, where nixpkgs leaves its package undefined.
#[test]
fn per_service_servers_keep_their_postgresql_version_across_nixpkgs_upgrades() {
    let server_of = |host: &str| -> Option<Vec<String>> {
        let system = minimal_system(host)?;
        Some(
            system["units"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(name, _)| name.starts_with("stackr-") && name.ends_with("-postgresql"))
                .map(|(_, unit)| {
                    unit["serviceConfig"]["ExecStart"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect(),
        )
    };
    for (host, version) in [
        ("{ system.stateVersion = \"24.11\"; }", "16"),
        ("{ system.stateVersion = \"23.05\"; }", "14"),
        // The host's own system server, on another major version, or upgraded to one.
        (
            "{ pkgs, ... }: { services.postgresql.enable = true; services.postgresql.package = pkgs.postgresql_15; }",
            "17",
        ),
        (
            "{ pkgs, ... }: { system.stateVersion = \"24.11\"; services.postgresql.enable = true; services.postgresql.package = pkgs.postgresql_17; }",
            "16",
        ),
    ] {
        let Some(servers) = server_of(host) else {
            return;
        };
        assert!(!servers.is_empty());
        for exec_start in servers {
            assert!(
                exec_start.contains(&format!("-postgresql-{version}/bin/postgres ")),
                "{host}: {exec_start}"
            );
        }
    }
}

/// Two listeners on one TCP port would leave one of them unable to start at boot: evaluation
/// refuses it, naming both. Only what binds a TCP port counts: on a single host a service's Redis
/// (port 0, its Unix socket) and its own PostgreSQL (`listen_addresses=`, its socket) bind none,
/// so a Redis of the host's own on their `port` options is no clash; on an API's port it is.
/// (A fleet's stores that do bind, for other hosts: tests/it/fleet_eval.rs.)
#[test]
fn port_clashes_count_only_listeners_that_bind_tcp() {
    let Some(plain) = minimal_system("{ }") else {
        return;
    };
    let services = &plain["stackr"]["services"];
    for (port, what) in [
        (&services["core"]["redis"]["port"], "core's Redis"),
        (&services["auth"]["redis"]["port"], "auth's Redis"),
        (&services["core"]["postgres"]["port"], "core's PostgreSQL"),
    ] {
        let host =
            format!("{{ services.redis.servers.cache = {{ enable = true; port = {port}; }}; }}");
        let system = minimal_system(&host).unwrap();
        assert_eq!(
            system["failedAssertions"],
            serde_json::json!([]),
            "a host Redis on the port of {what}, which binds no TCP port"
        );
        assert_eq!(violations(&system), Vec::<String>::new(), "{what}");
    }
    let api = &services["core"]["port"];
    let host = format!("{{ services.redis.servers.cache = {{ enable = true; port = {api}; }}; }}");
    let system = minimal_system(&host).unwrap();
    let failed = system["failedAssertions"].to_string();
    assert!(
        failed.contains(&format!("the host's Redis `cache` on {api}"))
            && failed.contains(&format!("core's API on {api}")),
        "{failed}"
    );
    // A service's Redis the host makes listen on plain TCP binds its port: counted.
    let host =
        format!("{{ lib, ... }}: {{ services.redis.servers.core.port = lib.mkForce {api}; }}");
    let system = minimal_system(&host).unwrap();
    let failed = system["failedAssertions"].to_string();
    assert!(
        failed.contains(&format!("core's Redis on {api}"))
            && failed.contains(&format!("core's API on {api}")),
        "{failed}"
    );
}

/// Every secret file a host may point stackr at is refused in the Nix store, which every local
/// user reads (and a binary cache may serve): auth's SMTP password as well as the services'
/// passwords and auth's secret.
#[test]
fn a_secret_file_in_the_nix_store_is_refused() {
    let Some(_) = minimal_system("{ }") else {
        return;
    };
    for (option, host) in [
        (
            "core's database password",
            "{ stackr.services.core.postgres.passwordFile = \"/nix/store/0000-core-db-password\"; }",
        ),
        (
            "auth's SMTP password",
            "{ stackr.auth.smtpUrl = \"smtp://mail.example.com:587\"; stackr.auth.smtpPasswordFile = \"/nix/store/0000-smtp-password\"; }",
        ),
    ] {
        let failed = minimal_system(host).unwrap()["failedAssertions"].to_string();
        assert!(
            failed.contains("secret files must live outside the Nix store"),
            "{option} in the store: {failed}"
        );
    }
}

/// An SMTP URL with the password in it (`smtps://user:password@host`, as mail providers often
/// print it) would put the password into the unit file in the Nix store and into auth's
/// environment, and auth ignores it there (it reads `smtpPasswordFile`): refused, saying where
/// the password goes, whatever the password holds (a `/`, `?`, `#` or `@` written as is, which a
/// URL parser would take for the end of the user part, or percent-encoded characters). A user
/// name alone (with an `@` of its own, or percent-encoded), an empty password (`user:@`, no
/// secret), a host's port or an IPv6 host is no password.
#[test]
fn an_smtp_url_holding_a_password_is_refused() {
    let Some(_) = minimal_system("{ }") else {
        return;
    };
    let failed = |url: &str| {
        minimal_system(&format!("{{ stackr.auth.smtpUrl = \"{url}\"; }}")).unwrap()
            ["failedAssertions"]
            .to_string()
    };
    for url in [
        "smtps://mailer:s3cret@mail.example.com",
        "smtp://mailer:s3cret@mail.example.com:587?tls=required",
        "smtps://:s3cret@mail.example.com",
        "smtps://mailer:pa/ss@mail.example.com",
        "smtps://mailer:pa/ss@mail.example.com:465/ehlo.example.com",
        "smtps://mailer:pa?ss#x@mail.example.com",
        "smtps://mailer:p%40ss%2F@mail.example.com",
        "smtps://mailer@example.com:s3cret@mail.example.com",
        "smtps://mailer:s3cret@[2001:db8::1]:465",
        "smtp://mailer:s3cret@[::1]:25?tls=required",
        // No scheme (auth refuses the URL, but only once the password is in the store).
        "mailer:s3cret@mail.example.com",
    ] {
        let failed = failed(url);
        assert!(
            failed.contains("stackr.auth.smtpUrl") && failed.contains("smtpPasswordFile"),
            "{url}: {failed}"
        );
    }
    for url in [
        "smtps://mailer@mail.example.com:465",
        "smtp://mail.example.com:587?tls=required",
        "smtp://[::1]:25",
        "smtps://mailer:@mail.example.com:465",
        "smtps://:@mail.example.com",
        "smtps://mailer:@[2001:db8::1]:465",
        "smtps://mailer@[2001:db8::1]:465",
        "smtps://mailer%40example.com@mail.example.com",
        "smtps://mailer%3Aname@mail.example.com:465",
        "smtps://mailer@example.com@mail.example.com:465/ehlo.example.com",
    ] {
        assert_eq!(failed(url), "[]", "{url}");
    }
}

/// A single host's APIs listen on every address with plain HTTP, closed by the firewall unless
/// `openFirewall` opens one: a host whose firewall is off, or trusts a network interface, opens
/// them to every host there without a word, cookies and all. Evaluation says so, as it does
/// for a fleet's hosts, naming the APIs it leaves open; auth fenced to loopback is not one of
/// them, and loopback is no such interface.
#[test]
fn a_host_whose_firewall_leaves_the_apis_open_is_warned_about() {
    let Some(closed) = minimal_system("{ }") else {
        return;
    };
    assert_eq!(closed["warnings"], serde_json::json!([]));
    let trusting_loopback =
        minimal_system("{ networking.firewall.trustedInterfaces = [ \"lo\" ]; }").unwrap();
    assert_eq!(trusting_loopback["warnings"], serde_json::json!([]));
    for (host, says) in [
        (
            "{ networking.firewall.enable = false; }",
            "networking.firewall is off",
        ),
        (
            "{ networking.firewall.trustedInterfaces = [ \"lo\" \"eth1\" ]; }",
            "networking.firewall.trustedInterfaces (eth1)",
        ),
    ] {
        let warnings = minimal_system(host).unwrap()["warnings"].to_string();
        assert!(warnings.contains(says), "{host}: {warnings}");
        assert!(
            warnings.contains("core's API (port 8080)"),
            "{host}: {warnings}"
        );
        assert!(!warnings.contains("auth's API"), "{host}: {warnings}");
    }
}

/// A Redis server of the host's own under a service's name (`services.redis.servers.core`, enabled
/// by the host) would merge silently into the service's: the host's clients would meet the
/// stack's password and share the queue's keyspace. Refused, naming it; a host setting that only
/// tunes the service's server (no `enable` of its own) is left alone.
#[test]
fn a_host_redis_server_under_a_services_name_is_refused() {
    let Some(_) = minimal_system("{ }") else {
        return;
    };
    let system =
        minimal_system("{ services.redis.servers.core = { enable = true; save = [ ]; }; }")
            .unwrap();
    let failed = system["failedAssertions"].to_string();
    assert!(
        failed.contains("services.redis.servers.core") && failed.contains("`core`"),
        "{failed}"
    );
    // As a host's modules usually write it: guarded by their own option (`lib.mkIf`), or
    // merged from parts (`lib.mkMerge`), at the server or at the servers.
    for guarded in [
        "{ lib, ... }: { services.redis.servers.core = lib.mkIf true { enable = true; }; }",
        "{ lib, ... }: { services.redis.servers.core = lib.mkMerge [ { save = [ ]; } { enable = true; } ]; }",
        "{ lib, ... }: { services.redis.servers = lib.mkMerge [ { core = lib.mkIf true { enable = true; }; } ]; }",
        "{ lib, ... }: { config = lib.mkIf true { services.redis.servers.core = lib.mkIf true { enable = lib.mkDefault true; }; }; }",
    ] {
        let failed = minimal_system(guarded).unwrap()["failedAssertions"].to_string();
        assert!(
            failed.contains("services.redis.servers.core") && failed.contains("`core`"),
            "{guarded}: {failed}"
        );
    }
    let tuned = minimal_system("{ services.redis.servers.core.save = [ ]; }").unwrap();
    assert_eq!(tuned["failedAssertions"], serde_json::json!([]));
    // A server the host's guard leaves off is no server of the host's.
    let off = minimal_system(
        "{ lib, ... }: { services.redis.servers.core = lib.mkIf false { enable = true; }; }",
    )
    .unwrap();
    assert_eq!(off["failedAssertions"], serde_json::json!([]));
}

/// Shared mode: a host that replaces the system PostgreSQL's pg_hba rules with `lib.mkForce`
/// (as nixpkgs' own option text suggests) would drop stackr's without a word; evaluation refuses.
#[test]
fn shared_mode_refuses_pg_hba_rules_that_lost_stackrs() {
    if !nix_instantiate_available() {
        return;
    }
    let project = generated_project(&fixture_config("shared-postgres"));
    let evaluate = |host: &str| evaluate_system(&modules_dir(), project.path(), host).unwrap();
    let forced = evaluate(
        "{ lib, ... }: { services.postgresql.authentication = lib.mkForce \"local all all peer\\n\"; }",
    );
    let failed = forced["failedAssertions"].to_string();
    assert!(
        failed.contains("does not start with stackr's rules"),
        "{failed}"
    );
    // Rules of the host's own beside stackr's are fine.
    let added = evaluate("{ services.postgresql.authentication = \"local all all peer\\n\"; }");
    assert_eq!(added["failedAssertions"], serde_json::json!([]));
}

/// The pg_hba reader the property checks use (tests/it/common/pg_hba.rs) decides as PostgreSQL
/// does: first match by connection type (SSL or not), database (keywords, quoted names,
/// replication), user and address (CIDR or address and mask, IPv4 apart from IPv6).
#[test]
fn the_pg_hba_reader_reads_lines_as_postgresql_does() {
    use common::pg_hba::{method, Database, Via};
    let text = "# header\n\
                local \"blog\" \"blog\" scram-sha-256\n\
                local all \"blog\" reject  # the rest\n\
                hostssl all \"shop\" 10.0.0.0/8 scram-sha-256\n\
                host all \"shop\" 10.0.0.0 255.0.0.0 reject\n\
                host sameuser all ::1/128 trust\n\
                host replication all all md5\n\
                local all all peer\n\
                host all all 127.0.0.1/32 md5\n";
    let tcp = |from: &str, ssl| Via::Tcp {
        from: from.parse().unwrap(),
        ssl,
    };
    let named = Database::Named;
    let cases = [
        (Via::Socket, named("blog"), "blog", Some("scram-sha-256")),
        (Via::Socket, named("postgres"), "blog", Some("reject")),
        (Via::Socket, named("postgres"), "shop", Some("peer")),
        (
            tcp("10.1.2.3", true),
            named("x"),
            "shop",
            Some("scram-sha-256"),
        ),
        (tcp("10.1.2.3", false), named("x"), "shop", Some("reject")),
        (tcp("11.1.2.3", false), named("x"), "shop", None),
        (tcp("::1", false), named("shop"), "shop", Some("trust")),
        (tcp("::1", false), named("blog"), "shop", None),
        (tcp("127.0.0.1", true), named("x"), "blog", Some("md5")),
        (
            tcp("127.0.0.1", true),
            Database::Replication,
            "blog",
            Some("md5"),
        ),
        (Via::Socket, Database::Replication, "blog", None),
    ];
    for (via, database, user, expected) in cases {
        assert_eq!(
            method(text, via, database, user),
            expected,
            "{user} to {database} {via}"
        );
    }
}

/// Shared mode: the system server's pg_hba lines, read in order as PostgreSQL reads them (first
/// match), confine each service's role to its own database however it connects (socket; TCP from
/// IPv4 or IPv6 loopback or another address, with or without SSL; physical replication), before
/// nixpkgs' defaults (`local all all peer`, `host all all 127.0.0.1/32 md5`) and the host's own
/// lines (here also permissive ones, merged after stackr's and before them at one priority) can
/// let it in: an OS account named like the role (a service named `nginx`) would otherwise reach
/// `postgres` by peer and set the role's password there, and the role with its password every
/// other database of the host's server. The role still reaches its own database with its
/// password, and `postgres` (the `-db` unit's login, nixpkgs' `local all postgres peer`) the
/// server through the socket.
#[test]
fn shared_mode_roles_reach_only_their_own_database() {
    use common::pg_hba::{method, tcp_logins, Database, Via};
    if !nix_instantiate_available() {
        return;
    }
    let project = generated_project(&fixture_config("shared-postgres"));
    let permissive = "{ services.postgresql.authentication = ''\n  local all all trust\n  host all all all scram-sha-256\n''; }";
    let mut systems = vec![
        (
            "no host lines".to_owned(),
            evaluate_system(&modules_dir(), project.path(), "{ }").unwrap(),
        ),
        (
            "permissive host lines merged after stackr's".to_owned(),
            evaluate_system(&modules_dir(), project.path(), permissive).unwrap(),
        ),
    ];
    systems.push((
        "permissive host lines merged before stackr's".to_owned(),
        common::nixos::evaluate_system_with_host_first(project.path(), permissive, "{ }").unwrap(),
    ));
    for (host, system) in &systems {
        let text = system["postgresql"]["authentication"].as_str().unwrap();
        assert!(
            text.contains("local all all peer") && text.contains("host all all 127.0.0.1/32 md5"),
            "{host}: nixpkgs' defaults are part of the merged text:\n{text}"
        );
        let found = role_confinement_violations(system);
        assert!(
            found.is_empty(),
            "{host}:\n{}\n\npg_hba:\n{text}",
            found.join("\n")
        );
        assert_eq!(violations(system), Vec::<String>::new(), "{host}");
        for role in ["auth", "blog", "media_store"] {
            let own = Database::Named(role);
            assert_eq!(
                method(text, Via::Socket, own, role),
                Some("scram-sha-256"),
                "{host}: {role} through the socket"
            );
            for via in tcp_logins() {
                let Via::Tcp { from, .. } = via else {
                    unreachable!()
                };
                let expected = if from.is_loopback() {
                    "scram-sha-256"
                } else {
                    "reject"
                };
                assert_eq!(
                    method(text, via, own, role),
                    Some(expected),
                    "{host}: {role} {via}"
                );
            }
            assert_eq!(
                method(text, Via::Socket, own, "postgres"),
                Some("peer"),
                "{host}: the superuser to {role}'s database"
            );
        }
        // The `-db` units' login: decided by the host's lines or nixpkgs' (`peer` by default),
        // never refused by stackr's.
        let superuser = method(text, Via::Socket, Database::Named("postgres"), "postgres");
        assert!(
            superuser.is_some_and(|m| m != "reject"),
            "{host}: postgres to database postgres through the socket ({superuser:?}):\n{text}"
        );
        if host == "no host lines" {
            assert_eq!(superuser, Some("peer"), "{host}");
        }
    }
}

/// Shared mode: a host that asks nixpkgs for a database or role under a service's name
/// (`ensureDatabases`, `ensureUsers`) would have it taken over by the service's provisioning (its
/// password set, stackr's pg_hba lines deciding who reaches it); evaluation refuses, naming the
/// service and the option. Other names are the host's own business.
#[test]
fn shared_mode_refuses_a_hosts_database_or_role_under_a_services_name() {
    if !nix_instantiate_available() {
        return;
    }
    let project = generated_project(&fixture_config("shared-postgres"));
    let evaluate = |host: &str| evaluate_system(&modules_dir(), project.path(), host).unwrap();
    for (option, host) in [
        (
            "ensureDatabases",
            "{ services.postgresql.ensureDatabases = [ \"shop\" \"blog\" ]; }",
        ),
        (
            "ensureUsers",
            "{ services.postgresql.ensureUsers = [ { name = \"blog\"; ensureDBOwnership = true; } ]; }",
        ),
    ] {
        let failed = evaluate(host)["failedAssertions"].to_string();
        assert!(
            failed.contains(option) && failed.contains("`blog`"),
            "{option}: {failed}"
        );
    }
    let others = evaluate(
        "{ services.postgresql = { ensureDatabases = [ \"shop\" ]; ensureUsers = [ { name = \"shop\"; ensureDBOwnership = true; } ]; }; }",
    );
    assert_eq!(others["failedAssertions"], serde_json::json!([]));
}

/// Shared mode: pg_hba stops at the first matching line, so the host's own
/// `services.postgresql.authentication` lines must not come before stackr's, whatever the order
/// of the modules (definitions of one priority merge by the modules' places in the import tree):
/// a host's `local all all peer` first would refuse every API (its OS user is not its role), a
/// `trust` line would let it in without its password. Each service's role is checked against the
/// merged rules as PostgreSQL reads them (first match), with the host's lines merged after
/// stackr's and before them (at one priority).
#[test]
fn shared_mode_rules_come_before_the_hosts_own_whatever_the_module_order() {
    if !nix_instantiate_available() {
        return;
    }
    let project = generated_project(&fixture_config("shared-postgres"));
    let evaluate = |host: &str| -> Vec<(&str, Value)> {
        vec![
            (
                "merged after stackr's",
                evaluate_system(&modules_dir(), project.path(), host).unwrap(),
            ),
            (
                "merged before stackr's",
                common::nixos::evaluate_system_with_host_first(project.path(), host, "{ }")
                    .unwrap(),
            ),
        ]
    };
    let rules = |system: &Value| -> Vec<String> {
        system["postgresql"]["authentication"]
            .as_str()
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    for line in [
        "local all all peer",
        "local all all trust",
        "host all all 127.0.0.1/32 trust",
    ] {
        let host = format!("{{ services.postgresql.authentication = \"{line}\\n\"; }}");
        for (placed, system) in evaluate(&host) {
            let found = violations(&system);
            assert!(
                found.is_empty(),
                "host line `{line}` {placed}:\n{}",
                found.join("\n")
            );
            let rules = rules(&system);
            assert!(
                rules[0].starts_with("local \"auth\" postgres peer"),
                "{placed}: {rules:?}"
            );
            // The host's line is kept, after stackr's; nixpkgs' header comment (also mkBefore,
            // so before or after stackr's rules) is no rule and fails no assertion.
            assert!(rules.contains(&line.to_owned()), "{placed}: {rules:?}");
            let text = system["postgresql"]["authentication"].as_str().unwrap();
            assert!(text.contains("# Generated file; do not edit!\n"), "{text}");
        }
    }
    // A host line given with stackr's own priority (lib.mkBefore) lands before or after stackr's
    // by module order: after, the system is sound; before, evaluation refuses it. A lower
    // mkOrder always comes first: refused, naming stackr's rules.
    for (first, always_first) in [
        ("{ lib, ... }: { services.postgresql.authentication = lib.mkBefore \"local all all trust\\n\"; }", false),
        ("{ lib, ... }: { services.postgresql.authentication = lib.mkOrder 100 \"local all all peer\\n\"; }", true),
    ] {
        for (placed, system) in evaluate(first) {
            let failed = system["failedAssertions"].to_string();
            let refused = failed.contains("does not start with stackr's rules");
            assert!(refused || !always_first, "{first} {placed}: {failed}");
            if !refused {
                assert_eq!(violations(&system), Vec::<String>::new(), "{first} {placed}");
            }
        }
    }
}

/// `stackr.stateDir` with a trailing slash (which `deploy.stateDir` of stackr.config.json may
/// have) gives every unit a `StateDirectory=` systemd accepts (`stackr/core`, not
/// `stackr//core`), and paths inside it without a doubled `/`; a folder systemd would refuse
/// (an empty, `.` or `..` component) or outside /var/lib is refused at evaluation, naming the
/// option.
#[test]
fn a_state_dir_with_a_trailing_slash_works_and_a_malformed_one_is_refused() {
    if !nix_instantiate_available() {
        return;
    }
    let project = generated_project(&fixture_config("minimal"));
    let evaluate = |host: &str| evaluate_system(&modules_dir(), project.path(), host);
    // As the host sets it, and as `deploy.stateDir` of stackr.config.json (which the generator
    // takes with a trailing slash) writes it into nix/stackr.nix.
    let from_config = generated_project(&fixture_config("minimal").replacen(
        '{',
        r#"{ "deploy": { "stateDir": "/var/lib/stackr/" },"#,
        1,
    ));
    let generated = std::fs::read_to_string(from_config.path().join("nix/stackr.nix")).unwrap();
    assert!(
        generated.contains(r#"stateDir = lib.mkDefault "/var/lib/stackr/";"#),
        "{generated}"
    );
    for (dir, system) in [
        (
            "/var/lib/stackr//",
            evaluate("{ lib, ... }: { stackr.stateDir = lib.mkForce \"/var/lib/stackr//\"; stackr.secrets.generate = true; }"),
        ),
        (
            "/var/lib/stackr/ (config)",
            evaluate_system(&modules_dir(), from_config.path(), "{ stackr.secrets.generate = true; }"),
        ),
    ] {
        let system = system.unwrap();
        assert_eq!(violations(&system), Vec::<String>::new(), "{dir}");
        assert_eq!(system["stackr"]["stateDir"], "/var/lib/stackr", "{dir}");
        let units = system["units"].as_object().unwrap();
        assert_eq!(
            units["stackr-core-api"]["serviceConfig"]["StateDirectory"], "stackr/core",
            "{dir}"
        );
        for (name, unit) in units {
            for (_, source) in common::nixos::credentials(unit) {
                assert!(!source.contains("//"), "{dir}: {name}: {source}");
            }
        }
    }
    for dir in [
        "/var/lib/",
        "/var/lib//stackr",
        "/var/lib/stackr//core",
        "/var/lib/../etc",
        "/var/lib/stackr/./x",
        "/var/lib/my stack",
        "/srv/stackr",
    ] {
        let host = format!("{{ lib, ... }}: {{ stackr.stateDir = lib.mkForce \"{dir}\"; }}");
        let error = evaluate(&host).map(|_| ()).expect_err(dir);
        assert!(
            error.contains("stackr.stateDir") && error.contains("folder under /var/lib"),
            "{dir}: {error}"
        );
    }
}

/// By default a secret file lives where a reboot keeps it: `/run` is in memory, and a unit whose
/// credential file is gone does not start.
#[test]
fn default_secret_files_outlive_a_reboot() {
    let Some(system) = minimal_system("{ }") else {
        return;
    };
    let mut sources = Vec::new();
    for (name, unit) in system["units"].as_object().unwrap() {
        for credential in strings(&unit["serviceConfig"]["LoadCredential"]) {
            let (_, source) = credential.split_once(':').unwrap();
            sources.push((name.clone(), source.to_owned()));
        }
    }
    assert!(!sources.is_empty());
    for (unit, source) in sources {
        assert!(!source.starts_with("/run/"), "{unit}: {source}");
    }
}

#[test]
fn every_service_redis_keeps_an_append_only_file() {
    let Some(system) = minimal_system("{ }") else {
        return;
    };
    for (name, server) in system["redis"].as_object().unwrap() {
        assert_eq!(server["appendOnly"], true, "redis {name}");
    }
}

#[test]
fn generated_secrets_live_in_the_state_folder_and_are_created_once() {
    let Some(system) = minimal_system("{ stackr.secrets.generate = true; }") else {
        return;
    };
    for (name, unit) in system["units"].as_object().unwrap() {
        for credential in unit["serviceConfig"]["LoadCredential"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let source = credential.as_str().unwrap().split_once(':').unwrap().1;
            assert!(
                source.starts_with("/var/lib/stackr/secrets/"),
                "{name}: {source} would not survive a reboot"
            );
        }
    }

    // The generation script itself, pointed at a temporary folder, run twice.
    let dir = tempfile::tempdir().unwrap();
    let host = format!(
        "{{ stackr.secrets.generate = true; stackr.secretsDir = \"{}\"; }}",
        dir.path().display()
    );
    let system = minimal_system(&host).unwrap();
    let script = system["units"]["stackr-secrets"]["script"]
        .as_str()
        .unwrap();
    let kept = dir.path().join("core-credential");
    std::fs::write(&kept, "provisioned-out-of-band").unwrap();
    let run = || {
        common::run_unit_script(script);
        common::tree(dir.path())
    };
    let first = run();
    assert_eq!(first.len(), 6, "{:?}", first.keys());
    for (file, content) in &first {
        if dir.path().join(file) != kept {
            assert_eq!(content.len(), 48, "{}", file.display());
            assert!(content.iter().all(u8::is_ascii_alphanumeric));
        }
    }
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "provisioned-out-of-band"
    );
    assert_eq!(run(), first, "an existing secret is never replaced");
}

/// A deploy that adds a service changes `stackr-secrets` (its script), and switch-to-configuration
/// restarts it: with its consumers requiring it (`requiredBy`), systemd would stop and start
/// every API, worker, database and Redis with it. They want it and are ordered after it instead.
#[test]
fn restarting_the_generated_secrets_restarts_none_of_their_consumers() {
    let Some(system) = minimal_system("{ stackr.secrets.generate = true; }") else {
        return;
    };
    let secrets = &system["units"]["stackr-secrets"];
    assert_eq!(strings(&secrets["requiredBy"]), Vec::<&str>::new());
    for consumer in [
        "stackr-auth-api.service",
        "stackr-core-api.service",
        "stackr-core-worker.service",
        "stackr-core-db.service",
        "redis-core.service",
    ] {
        assert!(
            strings(&secrets["before"]).contains(&consumer),
            "{consumer}"
        );
        assert!(
            strings(&secrets["wantedBy"]).contains(&consumer),
            "{consumer}"
        );
    }
    assert_eq!(
        common::nixos::secrets_unit_violations(&system),
        Vec::<String>::new()
    );
}

#[test]
fn hosts_with_auth_get_a_set_role_command_with_the_units_database_and_roles() {
    for (name, plan, system) in systems() {
        let packages = system["packages"].as_array().cloned().unwrap_or_default();
        let script = packages
            .iter()
            .find(|p| p["name"] == "stackr-set-role")
            .and_then(|p| p["text"].as_str());
        let Some(auth) = plan.auth.as_ref() else {
            assert!(script.is_none(), "{name}: no auth, no set-role command");
            continue;
        };
        let script = script.unwrap_or_else(|| panic!("{name}: no stackr-set-role command"));
        let env = &system["units"][format!("stackr-{auth}-api")]["environment"];
        for (key, wanted) in [
            ("DATABASE_URL", env["DATABASE_URL"].as_str().unwrap()),
            ("AUTH_ROLES", env["AUTH_ROLES"].as_str().unwrap()),
        ] {
            // As the unit's process gets it: systemd reads `%%` in Environment= as `%`, and
            // systemd-run's --setenv takes the value as it is.
            let wanted = wanted.replace("%%", "%");
            // Shell-quoted when the value needs it (nixpkgs' escapeShellArg leaves safe words bare).
            let bare = format!("--setenv={key}={wanted} ");
            let quoted = format!("--setenv={key}='{wanted}' ");
            assert!(
                script.contains(&bare) || script.contains(&quoted),
                "{name}: {key}={wanted} in\n{script}"
            );
        }
        assert!(
            script.contains(&format!("--uid=stackr-{auth}"))
                && script.contains("LoadCredential=")
                && script.contains("db-password:")
                && script.contains(&format!("/bin/{auth}-api \"$@\""))
                && script.contains("exec \"$0\" set-role \"$@\""),
            "{name}:\n{script}"
        );
    }
}

/// The documented way to back up and restore a database (docs/deploy.md): `stackr-postgres
/// SERVICE PROGRAM`, on every host, reaching each service's database as its `-db` unit does (the
/// identity pg_hba admits as the superuser, the server's socket folder and port) with the
/// server's own programs. nixos_postgres_server.rs runs it against a real server.
#[test]
fn hosts_get_a_postgres_command_reaching_each_database_as_its_db_unit_does() {
    for (name, plan, system) in systems() {
        let script = system["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "stackr-postgres")
            .and_then(|p| p["text"].as_str())
            .unwrap_or_else(|| panic!("{name}: no stackr-postgres command"));
        for service in &plan.services {
            let db_unit = &system["units"][format!("stackr-{}-db", service.name)];
            let user = db_unit["serviceConfig"]["User"].as_str().unwrap();
            let socket_dir = db_unit["environment"]["PGHOST"]
                .as_str()
                .unwrap_or("/run/postgresql");
            let port = db_unit["environment"]["PGPORT"].as_str().unwrap();
            let package = strings(&db_unit["path"])[0];
            let entry = script
                .lines()
                .skip_while(|line| !line.starts_with(&format!("{})", service.name)))
                .take(3)
                .collect::<Vec<_>>()
                .join("\n");
            for wanted in [
                format!("--reuid={user} --regid={user} "),
                format!(" PGHOST={socket_dir} PGPORT={port} PGUSER=postgres "),
                format!(" PGDATABASE={} ", service.name.replace('-', "_")),
                format!("\"{package}/bin/$program\""),
            ] {
                assert!(entry.contains(&wanted), "{name}: `{wanted}` in\n{entry}");
            }
        }
    }
}

/// `lib.oauthProvidersJson` of the module library applied to `providers` (resolved option
/// values, as JSON): the providers file the auth unit is given.
fn deployed_providers_file(providers: &Value) -> Value {
    let expression = format!(
        "(import {}/lib.nix {{ lib = import {}/lib; }}).oauthProvidersJson (builtins.fromJSON {})",
        modules_dir().display(),
        common::nixos::nixpkgs_lib().display(),
        serde_json::to_string(&providers.to_string()).unwrap()
    );
    let text = common::nix_eval_json(&modules_dir(), &expression, "oauthProvidersJson");
    serde_json::from_str(text.as_str().unwrap()).unwrap()
}

#[test]
fn sign_in_providers_are_deployed_as_in_dev_with_their_secrets_as_credentials() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let plan = fixture_plan("five-services");
    let dev = plan
        .dev_oauth
        .as_ref()
        .expect("the fixture declares providers");
    let project = generated_project(&fixture_config("five-services"));
    let system = evaluate_system(&modules_dir(), project.path(), "{ }").unwrap();
    let unit = &system["units"]["stackr-identity-api"];
    let file = unit["environment"]["AUTH_OAUTH_PROVIDERS_FILE"]
        .as_str()
        .unwrap();
    assert!(file.starts_with("/nix/store/"), "{file}");
    assert!(
        unit["serviceConfig"]["IPAddressDeny"].is_null(),
        "auth must reach the providers"
    );
    let credentials: Vec<&str> = unit["serviceConfig"]["LoadCredential"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for secret in &dev.secrets {
        let name = secret.file.rsplit('/').next().unwrap();
        let wanted = format!("{name}:/var/keys/stackr/{name}");
        assert!(
            credentials.contains(&wanted.as_str()),
            "{wanted} in {credentials:?}"
        );
    }

    // The same entries as dev's file, each naming its secret by the credential's name (auth
    // looks relative names up in its credentials folder) instead of a dev path.
    let deployed = deployed_providers_file(&system["stackr"]["auth"]["oauthProviders"]);
    let dev_entries: Value = serde_json::from_str(&dev.json).unwrap();
    let deployed = deployed.as_array().unwrap();
    assert_eq!(deployed.len(), dev_entries.as_array().unwrap().len());
    for (deployed, dev) in deployed.iter().zip(dev_entries.as_array().unwrap()) {
        let mut deployed = deployed.as_object().unwrap().clone();
        let mut dev = dev.as_object().unwrap().clone();
        if deployed.get("trustedForAccountLinking") == Some(&Value::Bool(false)) {
            deployed.remove("trustedForAccountLinking");
        }
        for key in ["clientSecretFile", "privateKeyFile"] {
            if let Some(path) = dev.get_mut(key) {
                let name = path
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned();
                *path = name.into();
            }
        }
        assert_eq!(Value::Object(deployed), Value::Object(dev));
    }
}

#[test]
fn the_dashboard_address_of_the_config_reaches_auth_in_dev_and_on_nixos() {
    let plan = fixture_plan("five-services");
    let auth = plan.services.iter().find(|s| s.is_auth()).unwrap();
    assert!(
        auth.api_env
            .iter()
            .any(|e| e.name == "AUTH_ADMIN_BIND" && e.value == "10.0.0.5"),
        "dev: {:?}",
        auth.api_env
    );
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: NixOS side skipped");
        return;
    }
    let project = generated_project(&fixture_config("five-services"));
    let system = evaluate_system(&modules_dir(), project.path(), "{ }").unwrap();
    assert_eq!(
        system["units"]["stackr-identity-api"]["environment"]["AUTH_ADMIN_BIND"],
        "10.0.0.5"
    );
}

/// A dashboard bound to an address of the host's network is reachable there: neither auth's unit
/// nor its admin socket admits loopback alone, as they do for an auth whose every peer is local.
#[test]
fn a_dashboard_on_the_hosts_network_is_not_fenced_to_loopback() {
    let Some(system) = minimal_system("{ stackr.services.auth.adminBind = \"10.0.0.5\"; }") else {
        return;
    };
    for config in [
        &system["units"]["stackr-auth-api"]["serviceConfig"],
        &system["sockets"]["stackr-auth-api-admin"]["socketConfig"],
    ] {
        assert_ne!(config["IPAddressAllow"], "localhost", "{config}");
    }
    // Every address of 127.0.0.0/8 is loopback: a dashboard bound to another one of them is
    // reached from this host alone, and leaves the fence up.
    for bind in ["127.0.0.1", "127.0.0.2", "::1"] {
        let fenced = minimal_system(&format!(
            "{{ stackr.services.auth.adminBind = \"{bind}\"; }}"
        ))
        .unwrap();
        assert_eq!(
            fenced["units"]["stackr-auth-api"]["serviceConfig"]["IPAddressAllow"], "localhost",
            "{bind}"
        );
    }
    let fenced = minimal_system("{ }").unwrap();
    assert_eq!(
        fenced["units"]["stackr-auth-api"]["serviceConfig"]["IPAddressAllow"],
        "localhost"
    );
}

/// A reverse proxy on another host in front of an auth whose every other peer is local
/// (`auth.trustedProxies`, as docs/deploy.md sets it up): the unit and its sockets admit the
/// proxy's address, whose connections `IPAddressDeny=any` would otherwise drop silently.
#[test]
fn a_trusted_proxy_on_another_host_reaches_a_fenced_auth() {
    let Some(system) =
        minimal_system("{ stackr.auth.trustedProxies = [ \"10.0.0.9\" \"10.1.0.0/16\" ]; }")
    else {
        return;
    };
    assert_eq!(violations(&system), Vec::<String>::new());
    for (what, config) in [
        ("unit", &system["units"]["stackr-auth-api"]["serviceConfig"]),
        (
            "api socket",
            &system["sockets"]["stackr-auth-api"]["socketConfig"],
        ),
        (
            "admin socket",
            &system["sockets"]["stackr-auth-api-admin"]["socketConfig"],
        ),
    ] {
        assert_eq!(config["IPAddressDeny"], "any", "{what}: {config}");
        let allowed = strings(&config["IPAddressAllow"]);
        for address in ["localhost", "10.0.0.9", "10.1.0.0/16"] {
            assert!(
                allowed.contains(&address),
                "{what} drops {address}: {config}"
            );
        }
    }
    // Without proxies, loopback alone.
    let fenced = minimal_system("{ }").unwrap();
    assert_eq!(
        fenced["sockets"]["stackr-auth-api"]["socketConfig"]["IPAddressAllow"],
        "localhost"
    );
}

/// The names a reverse proxy gives the dashboard are the host's (not the config's): the module
/// passes them to auth, which answers no other name.
#[test]
fn the_dashboard_host_names_of_a_host_reach_auth() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let project = generated_project(&fixture_config("five-services"));
    let evaluate = |host: &str| evaluate_system(&modules_dir(), project.path(), host).unwrap();
    let environment =
        |system: &Value| system["units"]["stackr-identity-api"]["environment"].clone();
    let named = evaluate(
        r#"{ stackr.services.identity.adminHosts = [ "admin.example.com" "ops.example.com" ]; }"#,
    );
    assert_eq!(
        environment(&named)["AUTH_ADMIN_HOSTS"],
        "admin.example.com,ops.example.com"
    );
    assert_eq!(
        environment(&evaluate("{ }"))["AUTH_ADMIN_HOSTS"],
        Value::Null
    );
}

#[test]
fn additional_user_fields_reach_auth_in_dev_and_on_nixos() {
    let plan = fixture_plan("five-services");
    let auth = plan.services.iter().find(|s| s.is_auth()).unwrap();
    let expected = r#"[{"name":"plan","type":"string","required":true,"input":false,"defaultValue":"free"},{"name":"discount","type":"string","required":false,"input":true,"defaultValue":"10%"}]"#;
    assert!(
        auth.api_env
            .iter()
            .any(|e| e.name == "AUTH_USER_FIELDS" && e.value == expected),
        "dev: {:?}",
        auth.api_env
    );
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: NixOS side skipped");
        return;
    }
    let project = generated_project(&fixture_config("five-services"));
    let system = evaluate_system(&modules_dir(), project.path(), "{ }").unwrap();
    assert_eq!(
        system["units"]["stackr-identity-api"]["environment"]["AUTH_USER_FIELDS"],
        expected.replace('%', "%%"),
        "systemd reads `%%` as a literal `%`"
    );
}

/// Base services trust the origin of auth's `baseUrl` (with `trustedOrigins`), in dev and on
/// NixOS alike: not the URL itself, whose path is no part of an origin.
#[test]
fn base_services_trust_the_origin_of_auths_base_url() {
    let config = r#"{
  "name": "origins",
  "services": [
    { "name": "auth", "kind": "auth", "baseUrl": "https://Auth.Example.com:443/auth/", "trustedOrigins": ["https://app.example.com"] },
    { "name": "core" }
  ]
}"#;
    let expected = "https://auth.example.com,https://app.example.com";
    let (_, model) =
        stackr::project::check_config_text(std::path::Path::new("stackr.config.json"), config)
            .unwrap();
    let plan = stackr::plan::plan(&model);
    let core = plan.services.iter().find(|s| s.name == "core").unwrap();
    assert!(
        core.api_env
            .iter()
            .any(|e| e.name == "TRUSTED_ORIGINS" && e.value == expected),
        "dev: {:?}",
        core.api_env
    );
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: NixOS side skipped");
        return;
    }
    let project = generated_project(config);
    let system = evaluate_system(&modules_dir(), project.path(), "{ }").unwrap();
    for unit in ["stackr-core-api", "stackr-core-worker"] {
        assert_eq!(
            system["units"][unit]["environment"]["TRUSTED_ORIGINS"], expected,
            "{unit}"
        );
    }
    // A host setting it itself is held to the same rule.
    for url in [
        "https://*",
        "https://a.example,https://b.example",
        "https://u@a.example",
    ] {
        let host = format!("{{ lib, ... }}: {{ stackr.auth.baseUrl = lib.mkForce \"{url}\"; }}");
        let error = evaluate_system(&modules_dir(), project.path(), &host)
            .map(|_| ())
            .expect_err(url);
        assert!(error.contains("stackr.auth.baseUrl"), "{url}: {error}");
    }
}

/// The config's `baseUrl` and `trustedOrigins` are dev's too (by default `http://localhost:8888`
/// and `http://localhost:3000`): a production host gives auth its public address and its app's
/// origins in its own configuration, as any NixOS option, without a conflict with the generated
/// values and without `lib.mkForce`; its origins replace dev's rather than join them.
#[test]
fn a_host_gives_auth_its_public_address_and_origins() {
    let host = r#"{ stackr.auth.baseUrl = "https://auth.example.com"; stackr.auth.trustedOrigins = [ "https://app.example.com" ]; }"#;
    let Some(system) = minimal_system(host) else {
        return;
    };
    let auth = &system["units"]["stackr-auth-api"]["environment"];
    assert_eq!(auth["AUTH_BASE_URL"], "https://auth.example.com");
    assert_eq!(auth["AUTH_TRUSTED_ORIGINS"], "https://app.example.com");
    for unit in ["stackr-core-api", "stackr-core-worker"] {
        assert_eq!(
            system["units"][unit]["environment"]["TRUSTED_ORIGINS"],
            "https://auth.example.com,https://app.example.com",
            "{unit}"
        );
    }
}

/// The deploy settings of the generated nix/stackr.nix (state folder, ports, packages, workers)
/// are defaults, as any NixOS module's: a host sets its own with a plain definition, without
/// `lib.mkForce`, and its value is the one deployed.
#[test]
fn a_host_sets_ports_state_folder_package_and_workers_without_mk_force() {
    let host = r#"{
      stackr.stateDir = "/var/lib/other";
      stackr.services.core.port = 9000;
      stackr.services.core.package = { type = "derivation"; name = "my-core"; outPath = "/nix/store/11111111111111111111111111111111-my-core"; };
      stackr.services.core.worker.concurrency = 3;
      stackr.services.core.postgres.port = 6000;
      stackr.services.core.redis.port = 6999;
      stackr.services.auth.adminPort = 4444;
      stackr.services.auth.adminBind = "127.0.0.2";
    }"#;
    let Some(system) = minimal_system(host) else {
        return;
    };
    assert_eq!(system["failedAssertions"], serde_json::json!([]));
    assert_eq!(system["stackr"]["stateDir"], "/var/lib/other");
    let units = &system["units"];
    let api = &units["stackr-core-api"];
    assert_eq!(api["environment"]["PORT"], "9000");
    assert_eq!(
        api["serviceConfig"]["ExecStart"],
        "/nix/store/11111111111111111111111111111111-my-core/bin/core-api"
    );
    assert_eq!(api["serviceConfig"]["StateDirectory"], "other/core");
    assert!(
        api["environment"]["DATABASE_URL"]
            .as_str()
            .unwrap()
            .contains(":6000/"),
        "{}",
        api["environment"]
    );
    assert_eq!(
        units["stackr-core-worker"]["environment"]["WORKER_CONCURRENCY"],
        "3"
    );
    let auth = &units["stackr-auth-api"]["environment"];
    assert_eq!(auth["AUTH_ADMIN_PORT"], "4444");
    assert_eq!(auth["AUTH_ADMIN_BIND"], "127.0.0.2");
    assert_eq!(system["stackr"]["services"]["core"]["redis"]["port"], 6999);

    let without_worker = minimal_system("{ stackr.services.core.worker.enable = false; }").unwrap();
    assert!(without_worker["units"]["stackr-core-worker"].is_null());
    assert!(without_worker["units"]["stackr-core-api"].is_object());
}

/// A role-gated service's roles are its code's (scaffolded with them; auth's roles follow them):
/// a host setting its own fails to evaluate, naming stackr.config.json, where NixOS would have
/// joined the host's list to the config's and let the host's roles through unnoticed.
#[test]
fn a_host_setting_a_services_roles_fails_to_evaluate() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let project = generated_project(&fixture_config("keyword-names"));
    let modules = modules_dir();
    let system = evaluate_system(&modules, project.path(), "{ }").unwrap();
    assert_eq!(
        system["stackr"]["services"]["order"]["roles"],
        serde_json::json!(["clerk"])
    );
    let failed = evaluate_system(
        &modules,
        project.path(),
        r#"{ stackr.services.order.roles = [ "support" ]; }"#,
    )
    .map(|system| system["stackr"]["services"]["order"]["roles"].clone())
    .expect_err("a host's roles beside the config's");
    assert!(failed.contains("stackr.services.order.roles"), "{failed}");
}

/// A service's `environment` in stackr.config.json reaches its deployed processes as written, as
/// it reaches them in dev. systemd expands `%` specifiers in `Environment=` (`%m` the machine
/// id, `%d` the credentials folder, …) and drops an assignment whose specifier it does not know,
/// so a literal `%` must reach the unit as `%%`, as `AUTH_USER_FIELDS` already does.
#[test]
fn config_environment_values_reach_the_processes_as_written() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let config = r#"{
  "name": "percent",
  "services": [
    { "name": "auth", "kind": "auth" },
    { "name": "core", "environment": { "DATE_FORMAT": "%Y-%m-%d", "DISCOUNT": "10%" } }
  ]
}"#;
    let (_, model) =
        stackr::project::check_config_text(std::path::Path::new("stackr.config.json"), config)
            .unwrap();
    let plan = stackr::plan::plan(&model);
    let core = plan.services.iter().find(|s| s.name == "core").unwrap();
    for (name, value) in [("DATE_FORMAT", "%Y-%m-%d"), ("DISCOUNT", "10%")] {
        assert!(
            core.api_env
                .iter()
                .any(|e| e.name == name && e.value == value),
            "dev: {:?}",
            core.api_env
        );
    }
    let project = generated_project(config);
    let system = evaluate_system(&modules_dir(), project.path(), "{ }").unwrap();
    for unit in ["stackr-core-api", "stackr-core-worker"] {
        let env = &system["units"][unit]["environment"];
        assert_eq!(
            env["DATE_FORMAT"], "%%Y-%%m-%%d",
            "{unit}: systemd reads `%Y-%m-%d` as the unit's folder, the machine id and the credentials folder"
        );
        assert_eq!(
            env["DISCOUNT"], "10%%",
            "{unit}: systemd drops `DISCOUNT=10%` (a lone `%`)"
        );
    }
}

/// A service's `environment` from stackr.config.json is the config's default for every host: a
/// host's plain `stackr.services.<name>.environment.<VAR>` replaces a value the config gives
/// (where both were plain definitions of one `str` and failed to evaluate without
/// `lib.mkForce`), and a host's plain value on one unit
/// (`systemd.services.<unit>.environment.<VAR>`) replaces it for that process alone.
#[test]
fn a_host_changes_a_config_environment_value_without_mk_force() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let project = generated_project(&fixture_config("five-services"));
    let host = r#"{
      stackr.services.profile.environment.FEATURE_X = "off";
      systemd.services.stackr-profile-worker.environment.FEATURE_X = "worker only";
    }"#;
    let system = evaluate_system(&modules_dir(), project.path(), host)
        .unwrap_or_else(|error| panic!("a host's value beside the config's: {error}"));
    assert_eq!(violations(&system), Vec::<String>::new());
    let feature = |unit: &str| system["units"][unit]["environment"]["FEATURE_X"].clone();
    assert_eq!(feature("stackr-profile-api"), "off");
    assert_eq!(feature("stackr-profile-worker"), "worker only");
    let untouched = evaluate_system(&modules_dir(), project.path(), "{ }").unwrap();
    assert_eq!(
        untouched["units"]["stackr-profile-api"]["environment"]["FEATURE_X"],
        "on"
    );
}

/// A host's `stackr.services.<name>.environment` naming a variable stackr sets itself for the
/// service's processes (`PORT`, `DATABASE_URL`, …, as stackr.config.json's `environment` may not)
/// is refused, naming it: it replaced stackr's value without a word, the API then listening on
/// a port its socket, firewall and callers knew nothing of, or reaching another database. RUST_LOG
/// (a default) and the host's own variables stay the host's to give.
#[test]
fn a_host_environment_replacing_a_variable_stackr_sets_is_refused() {
    let Some(system) = minimal_system(
        r#"{ stackr.services.core.environment = { PORT = "9999"; DATABASE_URL = "postgres://core@elsewhere/core"; RUST_LOG = "debug"; MY_FLAG = "1"; }; }"#,
    ) else {
        return;
    };
    let failed = system["failedAssertions"].to_string();
    assert!(
        failed.contains("stackr.services.core.environment sets DATABASE_URL, PORT, which"),
        "{failed}"
    );
    let allowed = minimal_system(
        r#"{ stackr.services.core.environment = { RUST_LOG = "debug"; MY_FLAG = "1"; }; }"#,
    )
    .unwrap();
    assert_eq!(allowed["failedAssertions"], serde_json::json!([]));
    assert_eq!(
        allowed["units"]["stackr-core-api"]["environment"]["MY_FLAG"],
        "1"
    );
}

/// Every text a host sets reaches auth's and the base services' processes as written: a `%` in
/// it reaches `Environment=` as `%%` (an SMTP user name with `%40`, an IPv6 zone, …), where
/// systemd dropped the whole assignment or put a folder in place of `%d`.
#[test]
fn host_text_with_a_percent_reaches_the_processes_as_written() {
    let Some(system) = minimal_system(
        r#"{ lib, ... }: {
          stackr.auth.smtpUrl = "smtps://me%40example.com@smtp.example.com:465";
          stackr.auth.trustedOrigins = lib.mkForce [ "https://%d.example" ];
          stackr.auth.trustedProxies = [ "fe80::1%eth0" ];
          stackr.services.auth.adminHosts = [ "%H.example" ];
          stackr.services.core.environment.GREETING = "100%d";
        }"#,
    ) else {
        return;
    };
    let auth = &system["units"]["stackr-auth-api"]["environment"];
    for (key, value) in [
        (
            "AUTH_SMTP_URL",
            "smtps://me%%40example.com@smtp.example.com:465",
        ),
        ("AUTH_TRUSTED_ORIGINS", "https://%%d.example"),
        ("AUTH_TRUSTED_PROXIES", "fe80::1%%eth0"),
        ("AUTH_ADMIN_HOSTS", "%%H.example"),
    ] {
        assert_eq!(auth[key], value, "{key}");
    }
    for unit in ["stackr-core-api", "stackr-core-worker"] {
        let env = &system["units"][unit]["environment"];
        assert_eq!(
            env["TRUSTED_ORIGINS"], "http://localhost:8888,https://%%d.example",
            "{unit}"
        );
        assert_eq!(env["GREETING"], "100%%d", "{unit}");
    }
}

/// On a host with other local accounts, a loopback TCP port above 1024 belongs to whoever binds
/// it first: while the server behind it is down (every restart of a deploy, a crash, and the
/// whole start-up of an API, which binds its port only after connecting to its stores and
/// migrating), any local user may bind it and be answered instead. The processes send secrets to
/// these listeners: the Redis password (`AUTH`, in clear on `redis://`), the database password
/// (the runtime's PostgreSQL client answers a server that asks for a cleartext password), users'
/// cookies and the service credential (`AUTH_URL`). So a process reaches each local server
/// through something no other local user can take: a Unix socket in a folder of the service, a
/// port below 1024, or a listening socket systemd holds across restarts. (Dev holds the ports of
/// services it does not start for this reason: supervisor/src/port_hold.rs.)
fn urls_to_takeable_listeners(system: &Value, keys: &[&str]) -> Vec<String> {
    let held = common::nixos::held_ports(system);
    let mut takeable = Vec::new();
    for (name, unit) in system["units"].as_object().unwrap() {
        for key in keys {
            let Some(url) = unit["environment"][key].as_str() else {
                continue;
            };
            let on_loopback = common::nixos::url_host(url) == Some("127.0.0.1");
            let port = common::nixos::url_port(url).unwrap_or(0);
            if on_loopback && port >= 1024 && !held.contains_key(&port) {
                takeable.push(format!("{name}: {key}={url}"));
            }
        }
    }
    takeable
}

/// Each process reaches its own Redis through the server's Unix socket, in the folder nixpkgs
/// makes for it (mode 0750, the server's group), which the process's unit joins; the server has
/// no TCP listener at all that another user could stand in for.
#[test]
fn redis_passwords_go_only_to_a_socket_no_other_local_user_can_take() {
    let Some(system) = minimal_system("{ }") else {
        return;
    };
    let takeable = urls_to_takeable_listeners(&system, &["REDIS_URL"]);
    assert!(takeable.is_empty(), "{}", takeable.join("\n"));
    for service in ["auth", "core"] {
        let server = format!("redis-{service}");
        for role in ["api", "worker"] {
            let unit = &system["units"][format!("stackr-{service}-{role}")];
            if unit.is_null() {
                continue;
            }
            assert_eq!(
                unit["environment"]["REDIS_URL"],
                format!("redis+unix:///run/{server}/redis.sock"),
                "{service} {role}"
            );
            assert!(
                strings(&unit["serviceConfig"]["SupplementaryGroups"]).contains(&server.as_str()),
                "{service} {role}: without the server's group it cannot enter the socket's folder"
            );
        }
        let unit = &system["units"][&server];
        assert_eq!(
            unit["serviceConfig"]["RuntimeDirectoryMode"], "0750",
            "{server}"
        );
        let config = system["storeFiles"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(path, _)| path.ends_with(&format!("{server}-redis.conf")))
            .map_or_else(
                || panic!("no config of {server}"),
                |(_, content)| content.as_str().unwrap().to_owned(),
            );
        assert!(
            config.lines().any(|line| line == "port 0"),
            "{server} listens on TCP:\n{config}"
        );
        assert!(
            config
                .lines()
                .any(|line| line == format!("unixsocket /run/{server}/redis.sock")),
            "{config}"
        );
    }
}

/// An auth without an admin page gets no admin socket (one without a port would stop auth
/// starting), and a Redis server whose group is set apart is still entered by its service.
#[test]
fn sockets_follow_the_hosts_own_settings() {
    let host = "{ lib, ... }: { stackr.services.auth.adminPort = lib.mkForce null; services.redis.servers.core.group = \"core-redis-socket\"; users.groups.core-redis-socket = { }; }";
    let Some(system) = minimal_system(host) else {
        return;
    };
    assert_eq!(violations(&system), Vec::<String>::new());
    assert!(system["sockets"]["stackr-auth-api-admin"].is_null());
    assert!(system["units"]["stackr-auth-api"]["environment"]["AUTH_ADMIN_PORT"].is_null());
    for role in ["api", "worker"] {
        let unit = &system["units"][format!("stackr-core-{role}")];
        assert!(
            strings(&unit["serviceConfig"]["SupplementaryGroups"]).contains(&"core-redis-socket"),
            "core {role}: {}",
            unit["serviceConfig"]
        );
    }
}

/// Each process reaches its own host's PostgreSQL through the server's socket: in per-service
/// mode in the server's own folder (mode 0750, the server's group, which the process's unit
/// joins), the server listening on no TCP port; in shared mode through the system server's.
#[test]
fn database_passwords_go_only_to_a_socket_no_other_local_user_can_take() {
    if !nix_instantiate_available() {
        return;
    }
    for (fixture, socket_dir) in [
        ("minimal", "/run/stackr-{}-postgresql"),
        ("shared-postgres", "/run/postgresql"),
    ] {
        let project = generated_project(&fixture_config(fixture));
        let system = evaluate_system(&modules_dir(), project.path(), "{ }").unwrap();
        let takeable = urls_to_takeable_listeners(&system, &["DATABASE_URL"]);
        assert!(takeable.is_empty(), "{fixture}: {}", takeable.join("\n"));
        let per_service = system["stackr"]["postgresql"]["mode"] == "per-service";
        for (name, unit) in system["units"].as_object().unwrap() {
            let Some(url) = unit["environment"]["DATABASE_URL"].as_str() else {
                continue;
            };
            let service = unit["environment"]["STACKR_SERVICE"].as_str().unwrap();
            // Percent-encoded, each `%` written `%%` for systemd.
            let folder = socket_dir.replace("{}", service).replace('/', "%%2F");
            assert!(
                url.starts_with(&format!(
                    "postgres://{}@{folder}:",
                    service.replace('-', "_")
                )),
                "{fixture} {name}: {url}"
            );
            if per_service {
                let group = format!("stackr-{service}-pg");
                assert!(
                    strings(&unit["serviceConfig"]["SupplementaryGroups"])
                        .contains(&group.as_str()),
                    "{fixture} {name}: without {group} it cannot enter the socket's folder"
                );
            }
        }
        if per_service {
            for service in ["auth", "core"] {
                let server = &system["units"][format!("stackr-{service}-postgresql")];
                let exec = server["serviceConfig"]["ExecStart"].as_str().unwrap();
                assert!(
                    exec.split_whitespace()
                        .any(|arg| arg == "listen_addresses="),
                    "{service}'s PostgreSQL listens on TCP: {exec}"
                );
                assert_eq!(server["serviceConfig"]["RuntimeDirectoryMode"], "0750");
            }
        }
    }
}

/// The same for auth: a base service reaches it on a port systemd holds (see
/// [`urls_to_takeable_listeners`]).
#[test]
fn secrets_go_only_to_local_listeners_no_other_local_user_can_take() {
    let Some(system) = minimal_system("{ }") else {
        return;
    };
    let takeable = urls_to_takeable_listeners(&system, &["AUTH_URL", "DATABASE_URL", "REDIS_URL"]);
    assert!(
        takeable.is_empty(),
        "secrets sent to loopback ports any local user can bind while the server is down:\n{}",
        takeable.join("\n")
    );
}

/// A deploy that changes auth's admin page's port or address, or its API's port, must rebind
/// the socket: NixOS's switch-to-configuration restarts no changed `.socket` unit (and systemd
/// keeps the old listening socket through its daemon-reload), so auth, restarted on its own,
/// would be handed the old socket set. The change reaches the `-sockets` unit of the API as a
/// change of its reload triggers alone, which switch-to-configuration answers by reloading it
/// (`compare_units`: `X-Reload-Triggers` is the only difference), and its reload restarts the
/// sockets, then the API. The property checks (`socket_change_violations`) check that reload on
/// every project.
#[test]
fn a_deploy_changing_an_api_socket_rebinds_it_then_restarts_the_api() {
    let Some(before) = minimal_system("{ }") else {
        return;
    };
    let applier = &before["units"]["stackr-auth-api-sockets"];
    assert!(!applier.is_null(), "no stackr-auth-api-sockets unit");
    assert_eq!(
        strings(&applier["serviceConfig"]["ExecReload"])[1..],
        [
            "restart",
            "stackr-auth-api.socket",
            "stackr-auth-api-admin.socket",
            "stackr-auth-api.service"
        ]
    );
    let admin_port = before["units"]["stackr-auth-api"]["environment"]["AUTH_ADMIN_PORT"]
        .as_str()
        .unwrap()
        .parse::<u16>()
        .unwrap();
    for change in [
        format!(
            "{{ lib, ... }}: {{ stackr.services.auth.adminPort = lib.mkForce {}; }}",
            admin_port + 100
        ),
        "{ stackr.services.auth.adminBind = \"::1\"; }".to_owned(),
        "{ lib, ... }: { stackr.services.auth.port = lib.mkForce 9876; }".to_owned(),
    ] {
        let after = minimal_system(&change).unwrap();
        assert_eq!(violations(&after), Vec::<String>::new(), "{change}");
        assert_ne!(before["sockets"], after["sockets"], "{change}");
        let changed = &after["units"]["stackr-auth-api-sockets"];
        assert_ne!(
            applier["reloadTriggers"], changed["reloadTriggers"],
            "{change}: the sockets changed, their unit's reload triggers did not"
        );
        // Anything else changed would make switch-to-configuration restart it (a no-op start)
        // instead of reloading it.
        let others = |unit: &Value| {
            let mut unit = unit.clone();
            unit.as_object_mut().unwrap().remove("reloadTriggers");
            unit
        };
        assert_eq!(others(applier), others(changed), "{change}");
    }
}

/// A host may relax a sandbox setting for one unit (a plain definition in its configuration)
/// without "conflicting definition values": the module's settings are defaults. List settings are
/// appended to, as nixpkgs merges systemd's repeatable settings.
#[test]
fn a_host_relaxes_a_sandbox_setting_of_one_unit() {
    let host = "{ systemd.services.stackr-core-api.serviceConfig = { ProtectHome = false; LimitNOFILE = 1048576; SystemCallFilter = [ \"@resources\" ]; }; systemd.services.stackr-core-postgresql.serviceConfig.ProtectHome = \"read-only\"; }";
    let Some(system) = minimal_system(host) else {
        return;
    };
    assert_eq!(violations(&system), Vec::<String>::new());
    let api = &system["units"]["stackr-core-api"]["serviceConfig"];
    assert_eq!(api["ProtectHome"], false);
    assert_eq!(api["LimitNOFILE"], 1_048_576);
    let mut filter = strings(&api["SystemCallFilter"]);
    filter.sort_unstable();
    assert_eq!(
        filter,
        [
            "@resources",
            "@system-service",
            "~@privileged",
            "~@resources"
        ]
    );
    assert_eq!(
        system["units"]["stackr-core-postgresql"]["serviceConfig"]["ProtectHome"],
        "read-only"
    );
    // The other units keep every setting.
    let worker = &system["units"]["stackr-core-worker"]["serviceConfig"];
    assert_eq!(worker["ProtectHome"], true);
    assert_eq!(worker["LimitNOFILE"], 65536);
    assert_eq!(
        system["units"]["stackr-auth-api"]["serviceConfig"]["ProtectHome"],
        true
    );
}

/// A host may give a large database longer to shut down (`TimeoutSec`), or stop it its own way,
/// for one server without "conflicting definition values", as modules/README.md says of the
/// shutdown settings; the other servers keep theirs.
#[test]
fn a_host_gives_one_database_longer_to_shut_down() {
    let host = "{ systemd.services.stackr-core-postgresql.serviceConfig = { TimeoutSec = 600; KillSignal = \"SIGTERM\"; }; }";
    let Some(system) = minimal_system(host) else {
        return;
    };
    assert_eq!(violations(&system), Vec::<String>::new());
    let core = &system["units"]["stackr-core-postgresql"]["serviceConfig"];
    assert_eq!(
        (&core["TimeoutSec"], &core["KillSignal"]),
        (&600.into(), &"SIGTERM".into())
    );
    assert_eq!(core["KillMode"], "mixed");
    let auth = &system["units"]["stackr-auth-postgresql"]["serviceConfig"];
    assert_eq!(
        (&auth["TimeoutSec"], &auth["KillSignal"]),
        (&120.into(), &"SIGINT".into())
    );
}

/// A host may retry one unit its own way (`RestartSec`, `Restart`) with plain definitions, as
/// modules/README.md says of the retry settings; the other units keep theirs.
#[test]
fn a_host_retries_one_unit_its_own_way() {
    let host = "{ systemd.services.stackr-core-db.serviceConfig = { RestartSec = 5; RestartMaxDelaySec = 60; }; systemd.services.redis-core.serviceConfig.Restart = \"always\"; systemd.services.stackr-core-db.unitConfig.StartLimitIntervalSec = 0; }";
    let Some(system) = minimal_system(host) else {
        return;
    };
    assert_eq!(violations(&system), Vec::<String>::new());
    let db = &system["units"]["stackr-core-db"]["serviceConfig"];
    assert_eq!(
        (&db["RestartSec"], &db["RestartMaxDelaySec"]),
        (&5.into(), &60.into())
    );
    assert_eq!(
        system["units"]["redis-core"]["serviceConfig"]["Restart"],
        "always"
    );
    let auth = &system["units"]["stackr-auth-db"]["serviceConfig"];
    assert_eq!(
        (
            &auth["RestartSec"],
            &auth["RestartMaxDelaySec"],
            &auth["Restart"]
        ),
        (&1.into(), &30.into(), &"on-failure".into())
    );
}

/// A host may turn one process's logging up with a plain definition (`RUST_LOG`, where an
/// operator looks first) without "conflicting definition values"; the other processes keep
/// `info`, and `stackr.services.<name>.environment` still sets it for all of a service's.
#[test]
fn a_host_turns_up_the_logging_of_one_process() {
    let host = "{ systemd.services.stackr-core-api.environment.RUST_LOG = \"debug\"; stackr.services.auth.environment.RUST_LOG = \"warn\"; }";
    let Some(system) = minimal_system(host) else {
        return;
    };
    assert_eq!(violations(&system), Vec::<String>::new());
    let rust_log = |unit: &str| system["units"][unit]["environment"]["RUST_LOG"].clone();
    assert_eq!(rust_log("stackr-core-api"), "debug");
    assert_eq!(rust_log("stackr-core-worker"), "info");
    assert_eq!(rust_log("stackr-auth-api"), "warn");
}

/// An API meant for every address listens on IPv6 too (its socket a bare port: systemd binds
/// `[::]`, dual-stack), as `openFirewall` opens its port to both families; explicit addresses
/// (the admin page's loopback or `adminBind`) stay as they are.
#[test]
fn an_api_meant_for_every_address_listens_on_ipv6_too() {
    let Some(system) = minimal_system("{ stackr.services.core.openFirewall = true; }") else {
        return;
    };
    let streams = |socket: &str| strings(&system["sockets"][socket]["listenStreams"]).join(" ");
    for (name, service) in system["stackr"]["services"].as_object().unwrap() {
        let port = service["port"].as_u64().unwrap().to_string();
        assert_eq!(streams(&format!("stackr-{name}-api")), port, "{name}");
    }
    let admin_port = system["units"]["stackr-auth-api"]["environment"]["AUTH_ADMIN_PORT"]
        .as_str()
        .unwrap();
    assert_eq!(
        streams("stackr-auth-api-admin"),
        format!("127.0.0.1:{admin_port}")
    );
    let bound = minimal_system("{ stackr.services.auth.adminBind = \"::1\"; stackr.services.core.environment.LISTEN_ADDRESS = \"10.0.0.5\"; }").unwrap();
    assert_eq!(
        strings(&bound["sockets"]["stackr-auth-api-admin"]["listenStreams"]),
        [format!("[::1]:{admin_port}")]
    );
    let core_port = bound["stackr"]["services"]["core"]["port"]
        .as_u64()
        .unwrap();
    assert_eq!(
        strings(&bound["sockets"]["stackr-core-api"]["listenStreams"]),
        [format!("10.0.0.5:{core_port}")]
    );
}
