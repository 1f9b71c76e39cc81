//! Evaluates the module library with every generated project (the repository's own config and
//! each fixture) as a NixOS host, with nixpkgs' real `lib.evalModules` against NixOS option
//! declarations typed as nixpkgs types them (tests/nixos/), then checks the system's properties
//! (tests/it/common/nixos.rs) and that the deployed processes get what the dev processes get.
//! Skipped when nix-instantiate is not installed; fails when nixpkgs' lib is missing.

use crate::common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::nixos::{evaluate_system, modules_dir, repo_root, strings, violations};
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

/// The minimal fixture's system on `host` (None when nix-instantiate is missing).
fn minimal_system(host: &str) -> Option<Value> {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return None;
    }
    let project = generated_project(&fixture_config("minimal"));
    Some(evaluate_system(&modules_dir(), project.path(), host).unwrap())
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
/// system's by `system.stateVersion`, or the system's own when it runs one: a nixpkgs upgrade
/// that moves `pkgs.postgresql` to a new major version (whose server refuses the data folders of
/// the old one) changes neither. The system PostgreSQL is off in per-service mode, where nixpkgs
/// leaves its package undefined.
#[test]
fn per_service_servers_keep_their_postgresql_version_across_nixpkgs_upgrades() {
    let server_of = |host: &str| -> Option<Vec<String>> {
        let system = minimal_system(host)?;
        Some(
            system["units"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(name, _)| name.ends_with("-postgresql"))
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
        (
            "{ pkgs, ... }: { services.postgresql.enable = true; services.postgresql.package = pkgs.postgresql_15; }",
            "15",
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

/// A Redis server of the host's own on the port of a service's Redis would leave one of them
/// unable to start at boot: evaluation refuses it, naming both.
#[test]
fn a_host_redis_on_a_service_redis_port_is_refused() {
    let Some(plain) = minimal_system("{ }") else {
        return;
    };
    let port = &plain["stackr"]["services"]["core"]["redis"]["port"];
    let host = format!("{{ services.redis.servers.cache = {{ enable = true; port = {port}; }}; }}");
    let system = minimal_system(&host).unwrap();
    let failed = system["failedAssertions"].to_string();
    assert!(
        failed.contains(&format!("the host's Redis `cache` on {port}"))
            && failed.contains(&format!("core's Redis on {port}")),
        "{failed}"
    );
    // On a port of its own, it is no clash.
    let apart =
        minimal_system("{ services.redis.servers.cache = { enable = true; port = 6500; }; }")
            .unwrap();
    assert_eq!(apart["failedAssertions"], serde_json::json!([]));
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
        failed.contains("no longer holds stackr's rules"),
        "{failed}"
    );
    // Rules of the host's own beside stackr's are fine.
    let added = evaluate("{ services.postgresql.authentication = \"local all all peer\\n\"; }");
    assert_eq!(added["failedAssertions"], serde_json::json!([]));
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
        let output = std::process::Command::new("bash")
            .args(["-euc", &format!("umask 077\n{script}")])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
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

/// `lib.oauthProvidersJson` of the module library applied to `providers` (resolved option
/// values, as JSON): the providers file the auth unit is given.
fn deployed_providers_file(providers: &Value) -> Value {
    let expression = format!(
        "(import {}/lib.nix {{ lib = import {}/lib; }}).oauthProvidersJson (builtins.fromJSON {})",
        modules_dir().display(),
        common::nixos::nixpkgs_lib().display(),
        serde_json::to_string(&providers.to_string()).unwrap()
    );
    let output = std::process::Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E", &expression])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text: String = serde_json::from_slice(&output.stdout).unwrap();
    serde_json::from_str(&text).unwrap()
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
    let fenced = minimal_system("{ }").unwrap();
    assert_eq!(
        fenced["units"]["stackr-auth-api"]["serviceConfig"]["IPAddressAllow"],
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
