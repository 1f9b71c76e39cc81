//! Evaluates a generated project as a NixOS host with nixpkgs' real module system
//! (`tests/nixos/evaluate.nix`, run by `stackr_testkit::evaluate_nixos_system`, which also says
//! where nixpkgs' lib is found) and checks properties of the resulting system.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::pg_hba;
// Not every test binary that includes common/ uses both.
#[allow(unused_imports)]
pub use stackr_testkit::{nixpkgs_lib, repo_root};

/// The repository's hand-written module library.
pub fn modules_dir() -> PathBuf {
    repo_root().join("modules")
}

/// Evaluates `project` (a folder with the generated `nix/`) with the module library at `modules`
/// plus `host` (a NixOS module as Nix text), as the data `tests/nixos/evaluate.nix` returns.
/// `Err` holds Nix's error output.
pub fn evaluate_system(modules: &Path, project: &Path, host: &str) -> Result<Value, String> {
    let json = stackr_testkit::evaluate_nixos_system(modules, project, host)?;
    Ok(serde_json::from_slice(&json).expect("nix-instantiate prints JSON"))
}

/// [`evaluate_system`] with the module library at [`modules_dir`] and `first`, a NixOS module as
/// Nix text, whose definitions merge before the library's own of the same priority. nixpkgs'
/// `lib.evalModules` merges definitions of one priority deepest in the import tree first (then,
/// at one depth, later modules first), so `first` is imported three levels down, deeper than
/// modules/postgresql.nix (two levels): as a host configuration setting an option in a file its
/// own imports bring in (`hosts/db.nix` importing `./postgres/hba.nix`, say).
pub fn evaluate_system_with_host_first(
    project: &Path,
    first: &str,
    host: &str,
) -> Result<Value, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("host-first.nix"), first).unwrap();
    std::fs::write(
        dir.path().join("default.nix"),
        format!(
            "{{ imports = [ {{ imports = [ {{ imports = [ ./host-first.nix ]; }} ]; }} {} ]; }}\n",
            modules_dir().display()
        ),
    )
    .unwrap();
    evaluate_system(dir.path(), project, host)
}

/// Names a copy of the module library for the test processes [`evaluate_fleet`] runs in (a
/// mutation test sets it for the tests it runs again against a mutated library).
pub const MODULES_ENV: &str = "STACKR_TEST_MODULES";

/// The minimal fixture's system on `host` (None when nix-instantiate is missing).
pub fn minimal_system(host: &str) -> Option<Value> {
    if !super::nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return None;
    }
    let project = super::generated_project(&super::fixture_config("minimal"));
    Some(evaluate_system(&modules_dir(), project.path(), host).unwrap())
}

/// Every host of `project` (a folder with the generated `nix/`, placed on several hosts) through
/// its flake outputs, as `tests/nixos/evaluate-fleet.nix` returns them: by host, the data of
/// [`evaluate_system`] plus the colmena node's `deployment`. The module library is
/// [`modules_dir`], or the copy [`MODULES_ENV`] names.
pub fn evaluate_fleet(project: &Path) -> Value {
    evaluate_fleet_with_host(project, "{ }")
}

/// [`evaluate_fleet`] with `host` (a NixOS module as Nix text) on every host.
pub fn evaluate_fleet_with_host(project: &Path, host: &str) -> Value {
    let modules = std::env::var_os(MODULES_ENV).map_or_else(modules_dir, PathBuf::from);
    let json = stackr_testkit::evaluate_fleet_with_host(&modules, project, host)
        .unwrap_or_else(|e| panic!("the fleet: {e}"));
    serde_json::from_slice(&json).unwrap()
}

/// The VM test of `project`'s `nix/fleet.nix` as `tests/nixos/evaluate-fleet-vm-test.nix`
/// returns it: its name, each node's test settings, and the test script.
pub fn evaluate_fleet_vm_test(project: &Path) -> Value {
    let json = stackr_testkit::evaluate_fleet_vm_test(&modules_dir(), project)
        .unwrap_or_else(|e| panic!("the fleet's VM test: {e}"));
    serde_json::from_slice(&json).unwrap()
}

/// The single-host VM test of `project` (`nix/vm-test.nix`) as `tests/nixos/evaluate-vm-test.nix`
/// returns it: its name and the test script given the deployed machine.
pub fn evaluate_vm_test(project: &Path) -> Value {
    let json = stackr_testkit::evaluate_vm_test(&modules_dir(), project)
        .unwrap_or_else(|e| panic!("the VM test: {e}"));
    serde_json::from_slice(&json).unwrap()
}

/// A copy of modules/ with `from` replaced by `to` in `file` (where `from` must occur exactly once).
pub fn mutated_modules(file: &str, from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(modules_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let path = dir.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` must occur exactly once in modules/{file}"
    );
    std::fs::write(&path, text.replace(from, to)).unwrap();
    dir
}

/// Units systemd itself provides; every other referenced unit must be defined by the system.
const SYSTEMD_TARGETS: &[&str] = &[
    "multi-user.target",
    "network.target",
    "network-online.target",
    // nixpkgs' firewall unit (tests/nixos/nixpkgs-units.nix) runs early in the boot.
    "sysinit.target",
    "network-pre.target",
    "shutdown.target",
    "systemd-modules-load.service",
];
/// Unit fields that name other units.
const DEPENDENCY_FIELDS: &[&str] = &[
    "after",
    "before",
    "requires",
    "wants",
    "requiredBy",
    "wantedBy",
    "bindsTo",
    "partOf",
];

pub fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        Value::String(s) => s.split_whitespace().collect(),
        _ => Vec::new(),
    }
}

fn units(system: &Value) -> &serde_json::Map<String, Value> {
    system["units"].as_object().expect("units")
}

fn env<'a>(unit: &'a Value, key: &str) -> Option<&'a str> {
    unit["environment"][key].as_str()
}

/// Port of a `scheme://[user@]host:port[/...]` URL.
pub fn url_port(url: &str) -> Option<u16> {
    let authority = url.split("://").nth(1)?.split(['/', '?']).next()?;
    authority.rsplit(':').next()?.parse().ok()
}

/// Host of a `scheme://[user@]host:port[/...]` URL.
pub fn url_host(url: &str) -> Option<&str> {
    let authority = url.split("://").nth(1)?.split(['/', '?']).next()?;
    let host_port = authority.rsplit('@').next()?;
    Some(
        host_port
            .rsplit_once(':')
            .map_or(host_port, |(host, _)| host),
    )
}

/// Credential ids a unit loads (`LoadCredential=id:path`) with their source paths.
pub fn credentials(unit: &Value) -> Vec<(&str, &str)> {
    strings(&unit["serviceConfig"]["LoadCredential"])
        .into_iter()
        .filter_map(|c| c.split_once(':'))
        .collect()
}

/// What listens where: PostgreSQL servers (units running `bin/postgres`, port from `PGPORT` or,
/// for the system server, its settings),
/// Redis servers, and APIs (units running `*-api`, `PORT` and `AUTH_ADMIN_PORT`).
#[derive(Default)]
struct Listeners {
    postgres: BTreeMap<u16, String>,
    redis: BTreeMap<u16, String>,
    http: BTreeMap<u16, String>,
    /// Unix sockets of Redis and PostgreSQL servers by path: the server's unit, and the group
    /// that alone may enter its folder (none when every local user may).
    sockets: BTreeMap<String, Socket>,
    all: Vec<(u16, String)>,
}

struct Socket {
    unit: String,
    group: Option<String>,
}

/// PostgreSQL's socket in folder `dir` for `port` (libpq's and the server's naming).
fn postgres_socket(dir: &str, port: u16) -> String {
    format!("{dir}/.s.PGSQL.{port}")
}

/// The Unix socket a URL of a unit's environment names: a `redis+unix://` URL's path, or the
/// socket in the folder a PostgreSQL URL has as its host (percent-encoded, as libpq reads it, and
/// each `%` written `%%` for systemd).
pub fn unix_socket(url: &str) -> Option<String> {
    if let Some(path) = url.strip_prefix("redis+unix://") {
        return Some(path.to_owned());
    }
    let url = url.replace("%%", "%");
    url_host(&url)
        .filter(|host| host.starts_with("%2F"))
        .map(|dir| postgres_socket(&dir.replace("%2F", "/"), url_port(&url).unwrap_or(5432)))
}

fn listeners(system: &Value) -> Listeners {
    let mut found = Listeners::default();
    for (name, unit) in units(system) {
        let exec = unit["serviceConfig"]["ExecStart"].as_str().unwrap_or("");
        let program = exec.split_whitespace().next().unwrap_or("");
        let port = |key| env(unit, key).and_then(|p| p.parse::<u16>().ok());
        if program.ends_with("/bin/postgres") {
            // nixpkgs' system server reads its port from its postgresql.conf (`settings.port`).
            let configured = (name == "postgresql")
                .then(|| system["postgresql"]["settings"]["port"].as_u64())
                .flatten()
                .and_then(|p| u16::try_from(p).ok());
            if let Some(port) = port("PGPORT").or(configured) {
                // nixpkgs' system server keeps its socket in a folder every user may enter.
                let dir = exec
                    .split_whitespace()
                    .find_map(|arg| arg.strip_prefix("unix_socket_directories="))
                    .unwrap_or("/run/postgresql");
                let config = &unit["serviceConfig"];
                let group = (config["RuntimeDirectoryMode"].as_str() == Some("0750"))
                    .then(|| config["Group"].as_str().unwrap_or_default().to_owned());
                found.sockets.insert(
                    postgres_socket(dir, port),
                    Socket {
                        unit: format!("{name}.service"),
                        group,
                    },
                );
                let no_tcp = exec
                    .split_whitespace()
                    .any(|arg| arg == "listen_addresses=");
                if !no_tcp {
                    found.postgres.insert(port, format!("{name}.service"));
                    found.all.push((port, format!("{name} (PostgreSQL)")));
                }
            }
        }
        if program.ends_with("-api") {
            for (key, fd_name) in [("PORT", "api"), ("AUTH_ADMIN_PORT", "admin")] {
                // Handed a socket file instead, the process binds no port.
                if socket_file(system, name, fd_name).is_some() {
                    continue;
                }
                if let Some(port) = port(key) {
                    found.http.insert(port, format!("{name}.service"));
                    found.all.push((port, format!("{name} ({key})")));
                }
            }
        }
    }
    for (name, server) in system["redis"].as_object().unwrap() {
        if server["enable"] == true {
            let unit = format!("redis-{name}.service");
            if let Some(socket) = server["unixSocket"].as_str() {
                let group = server["group"].as_str().map(str::to_owned);
                found.sockets.insert(
                    socket.to_owned(),
                    Socket {
                        unit: unit.clone(),
                        group,
                    },
                );
            }
            // Port 0 turns the plain listener off; a TLS server listens on `tls-port`.
            let port = match server["port"].as_u64().unwrap() {
                0 => server["settings"]["tls-port"].as_u64().unwrap_or(0),
                port => port,
            } as u16;
            if port != 0 {
                found.redis.insert(port, unit);
                found.all.push((port, format!("redis-{name}")));
            }
        }
    }
    found
}

/// The `%` specifiers stackr's units may use in `Environment=` (systemd.unit(5)): `%d`, the
/// credentials folder, and `%%`, a `%`. systemd refuses an assignment with an unknown one and
/// starts the process without the variable.
const ENVIRONMENT_SPECIFIERS: &[char] = &['d', '%'];

/// Every `%` in the unit's environment starts a specifier stackr means.
fn specifier_violations(name: &str, unit: &Value) -> Vec<String> {
    let Some(environment) = unit["environment"].as_object() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (key, value) in environment {
        let Some(value) = value.as_str() else {
            continue;
        };
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                continue;
            }
            match chars.next() {
                Some(next) if ENVIRONMENT_SPECIFIERS.contains(&next) => {}
                next => {
                    found.push(format!(
                        "{name}: {key}={value} has `%{}`, which systemd does not pass on as written (a `%` is `%%`)",
                        next.map(String::from).unwrap_or_default()
                    ));
                    break;
                }
            }
        }
    }
    found
}

/// A unit of the stack that fails to start for a while (a full disk, its store not up yet, its
/// address not up yet at boot) is tried again until it starts, at most 5 minutes apart: systemd's
/// default start limit (5 starts in 10 s) left it failed for good after a second's outage. And no
/// unit of the stack requires (`requires`, `bindsTo`) one that may fail: when a required unit's
/// start fails, systemd fails the dependent's start with it and never starts the dependent again
/// once the required unit starts on a later try (measured with systemd 252 in
/// checks/tests/it/nixos_under_systemd.rs), so a store failing its first start at boot left its
/// service down for good. A `.socket` unit, or a unit whose only command is `true`, cannot fail.
fn restart_violations(system: &Value, name: &str, unit: &Value) -> Vec<String> {
    let mut found = Vec::new();
    if !in_stack(system, name) {
        return found;
    }
    for required in strings(&unit["requires"])
        .into_iter()
        .chain(strings(&unit["bindsTo"]))
    {
        let service = required.strip_suffix(".service").unwrap_or(required);
        let can_fail =
            !required.ends_with(".socket") && !units(system).get(service).is_some_and(cannot_fail);
        if can_fail {
            found.push(format!(
                "{name} requires {required}: a failed start of it fails {name} for good"
            ));
        }
    }
    if cannot_fail(unit) {
        return found;
    }
    if unit["unitConfig"]["StartLimitIntervalSec"] != 0 {
        found.push(format!(
            "{name}: gives up for good at systemd's start limit (StartLimitIntervalSec=)"
        ));
    }
    if !["on-failure", "always"].contains(&unit["serviceConfig"]["Restart"].as_str().unwrap_or(""))
    {
        found.push(format!("{name}: not restarted when it fails (Restart=)"));
    }
    let longest_delay = unit["serviceConfig"]
        .get("RestartMaxDelaySec")
        .or(unit["serviceConfig"].get("RestartSec"));
    if longest_delay
        .and_then(Value::as_u64)
        .is_none_or(|delay| delay > 300)
    {
        found.push(format!(
            "{name}: tries not bounded at 5 minutes apart (RestartSec=, RestartMaxDelaySec=)"
        ));
    }
    found
}

/// A unit whose only command is `true`.
fn cannot_fail(unit: &Value) -> bool {
    let config = &unit["serviceConfig"];
    config["ExecStart"]
        .as_str()
        .is_some_and(|command| command.ends_with("/bin/true"))
        && unit["script"].as_str().unwrap_or("").is_empty()
        && unit["preStart"].as_str().unwrap_or("").is_empty()
        && config.get("ExecStartPre").is_none()
}

/// Every property violation of an evaluated system (empty when it is sound).
pub fn violations(system: &Value) -> Vec<String> {
    let mut found: Vec<String> = system["failedAssertions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("failed assertion: {}", m.as_str().unwrap_or("")))
        .collect();
    let units = units(system);
    let sockets = system["sockets"].as_object();
    let defined = |reference: &str| match (
        reference.strip_suffix(".service"),
        reference.strip_suffix(".socket"),
    ) {
        (Some(service), _) => units.contains_key(service) || SYSTEMD_TARGETS.contains(&reference),
        (_, Some(socket)) => sockets.is_some_and(|s| s.contains_key(socket)),
        _ => SYSTEMD_TARGETS.contains(&reference),
    };
    for (name, unit) in units {
        for field in DEPENDENCY_FIELDS {
            for reference in strings(&unit[*field]) {
                if !defined(reference) {
                    found.push(format!("{name}.{field} names missing unit {reference}"));
                }
            }
        }
        let after = strings(&unit["after"]);
        for required in strings(&unit["requires"])
            .into_iter()
            .chain(strings(&unit["bindsTo"]))
        {
            if !after.contains(&required) {
                found.push(format!(
                    "{name} requires {required} without being ordered after it"
                ));
            }
        }
        if name.starts_with("stackr-") {
            for dependent in strings(&unit["requiredBy"])
                .into_iter()
                .chain(strings(&unit["wantedBy"]))
            {
                if !in_stack(system, dependent) && !dependent.ends_with(".target") {
                    found.push(format!(
                        "{dependent} is made to depend on stackr unit {name}"
                    ));
                }
            }
        }
        // Units ordered after an API or worker wait for a serving process only with readiness.
        let is_process = name.ends_with("-api") || name.ends_with("-worker");
        if name.starts_with("stackr-") && is_process && unit["serviceConfig"]["Type"] != "notify" {
            found.push(format!(
                "{name} is not Type=notify: units after it may start too early"
            ));
        }
        found.extend(credential_violations(name, unit));
        found.extend(restart_violations(system, name, unit));
        found.extend(specifier_violations(name, unit));
        found.extend(sql_identifier_violations(
            name,
            &[&unit["script"], &unit["preStart"], &unit["postStart"]]
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        ));
    }
    found.extend(database_isolation_violations(system));
    found.extend(role_confinement_violations(system));
    found.extend(secret_file_violations(system));
    found.extend(port_violations(system));
    found.extend(held_port_violations(system));
    found.extend(state_folder_violations(units));
    found.extend(secrets_unit_violations(system));
    found
}

/// `stackr-secrets` (`stackr.secrets.generate`) runs before every unit that loads a secret from
/// the folder it fills, and is wanted by each, but no unit requires it, is bound to it or is part
/// of it: a deploy that changes it (a service added) restarts it, and any of those edges would
/// make systemd stop and start its consumers with it, the whole stack.
pub fn secrets_unit_violations(system: &Value) -> Vec<String> {
    const SECRETS: &str = "stackr-secrets.service";
    let units = units(system);
    let Some(secrets) = units.get("stackr-secrets") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for field in ["requiredBy", "upheldBy", "partOf", "bindsTo"] {
        for unit in strings(&secrets[field]) {
            found.push(format!(
                "stackr-secrets: {field} {unit}: restarting it restarts {unit}"
            ));
        }
    }
    let dir = system["stackr"]["secretsDir"].as_str().unwrap_or_default();
    for (name, unit) in units {
        for field in ["requires", "bindsTo", "partOf", "requisite"] {
            if strings(&unit[field]).contains(&SECRETS) {
                found.push(format!(
                    "{name}: {field} {SECRETS}: restarting stackr-secrets restarts it"
                ));
            }
        }
        let reads_generated = credentials(unit)
            .iter()
            .any(|(_, source)| source.starts_with(&format!("{dir}/")));
        if !reads_generated {
            continue;
        }
        let service = format!("{name}.service");
        if !strings(&secrets["before"]).contains(&service.as_str())
            && !strings(&unit["after"]).contains(&SECRETS)
        {
            found.push(format!(
                "{name} reads a generated secret but is not ordered after stackr-secrets"
            ));
        }
        if !strings(&secrets["wantedBy"]).contains(&service.as_str())
            && !strings(&unit["wants"]).contains(&SECRETS)
        {
            found.push(format!(
                "{name} reads a generated secret but does not pull stackr-secrets in"
            ));
        }
    }
    found
}

/// Whether `unit` belongs to the stack: stackr's own units and the services' own Redis servers.
/// Units outside it (the system PostgreSQL, anything of the host) must not depend on the stack.
fn in_stack(system: &Value, unit: &str) -> bool {
    let name = unit.strip_suffix(".service").unwrap_or(unit);
    name.starts_with("stackr-")
        || name
            .strip_prefix("redis-")
            .is_some_and(|service| system["stackr"]["services"].get(service).is_some())
}

/// `*_FILE` variables that name configuration, not a secret: a file in the Nix store.
const CONFIG_FILES: &[&str] = &["AUTH_OAUTH_PROVIDERS_FILE"];

/// `*_FILE` variables name a credential the unit loads (but `CONFIG_FILES`, which are in the
/// store); no credential comes from the store;
/// credentials are read only where systemd provides them. Before systemd 256, a sandboxed unit
/// (any mount namespace: ProtectSystem, PrivateTmp, …) gets its credentials only in ExecStart and
/// the first ExecStartPre; ExecStartPost finds the folder inaccessible (measured with systemd 252:
/// checks/tests/nixos_under_systemd.rs).
fn credential_violations(name: &str, unit: &Value) -> Vec<String> {
    let mut found = Vec::new();
    if unit["postStart"]
        .as_str()
        .is_some_and(|s| s.contains("CREDENTIALS_DIRECTORY"))
    {
        found.push(format!(
            "{name} reads a credential in postStart, where systemd before 256 does not provide it"
        ));
    }
    let loaded = credentials(unit);
    for (id, source) in &loaded {
        if source.starts_with("/nix/store") {
            found.push(format!(
                "{name} loads credential {id} from the Nix store ({source})"
            ));
        }
    }
    for (key, value) in unit["environment"].as_object().into_iter().flatten() {
        if !key.ends_with("_FILE") {
            continue;
        }
        let value = value.as_str().unwrap_or("");
        if CONFIG_FILES.contains(&key.as_str()) {
            if !value.starts_with("/nix/store/") {
                found.push(format!(
                    "{name}: {key}={value} is not a file of the Nix store"
                ));
            }
            continue;
        }
        match value.strip_prefix("%d/") {
            Some(id) if loaded.iter().any(|(loaded_id, _)| loaded_id == &id) => {}
            _ => found.push(format!(
                "{name}: {key}={value} is not a credential the unit loads"
            )),
        }
    }
    found
}

/// Secret file options (any `stackr` option named `*File`, Redis `requirePassFile`) live outside
/// the store, and no Redis password is written into the configuration.
fn secret_file_violations(system: &Value) -> Vec<String> {
    fn walk(path: &str, value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    let inner_path = format!("{path}.{key}");
                    if key.ends_with("File") {
                        if let Some(file) = inner.as_str() {
                            if file.starts_with("/nix/store") {
                                found.push(format!("{inner_path} = {file} is under /nix/store"));
                            }
                        }
                    }
                    walk(&inner_path, inner, found);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| walk(path, item, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk("stackr", &system["stackr"], &mut found);
    walk("services.redis.servers", &system["redis"], &mut found);
    for (name, server) in system["redis"].as_object().unwrap() {
        if !server["requirePass"].is_null() {
            found.push(format!(
                "redis {name}: requirePass puts the password in the store"
            ));
        }
    }
    found
}

/// No two listeners share a port, and every DATABASE_URL/REDIS_URL/AUTH_URL reaches a listener
/// of the right kind that the unit is ordered after and depends on.
fn port_violations(system: &Value) -> Vec<String> {
    let listeners = listeners(system);
    let mut found = Vec::new();
    let mut owners: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for (port, owner) in &listeners.all {
        owners.entry(*port).or_default().push(owner);
    }
    for (port, owners) in owners {
        if owners.len() > 1 {
            found.push(format!("port {port} is used by {}", owners.join(" and ")));
        }
    }
    for (name, unit) in units(system) {
        let after = strings(&unit["after"]);
        let needed: Vec<&str> = strings(&unit["requires"])
            .into_iter()
            .chain(strings(&unit["wants"]))
            .chain(strings(&unit["bindsTo"]))
            .collect();
        for (key, servers, kind) in [
            ("DATABASE_URL", &listeners.postgres, "PostgreSQL"),
            ("REDIS_URL", &listeners.redis, "Redis"),
            ("AUTH_URL", &listeners.http, "API"),
        ] {
            let Some(url) = env(unit, key) else { continue };
            if let Some(socket) = unix_socket(url) {
                found.extend(socket_violations(
                    name, unit, key, &socket, &listeners, &after, &needed,
                ));
                continue;
            }
            // Another host's server (a fleet): tests/it/fleet_eval.rs checks those connections.
            if url_host(url).is_some_and(|host| host != "127.0.0.1") {
                continue;
            }
            match url_port(url).and_then(|port| servers.get(&port)) {
                None => found.push(format!("{name}: {key}={url} reaches no {kind} server")),
                Some(server)
                    if !after.contains(&server.as_str()) || !needed.contains(&server.as_str()) =>
                {
                    found.push(format!(
                        "{name} uses {server} ({key}) without After= and Requires=/Wants= on it"
                    ));
                }
                Some(_) => {}
            }
        }
    }
    found
}

/// A URL naming a Unix socket (`redis+unix://`, or a PostgreSQL URL whose host is a folder)
/// reaches a server's socket, whose server the unit is ordered after and depends on, and whose
/// group (the one that alone may enter the socket's folder), if any, it joins.
fn socket_violations(
    name: &str,
    unit: &Value,
    key: &str,
    socket: &str,
    listeners: &Listeners,
    after: &[&str],
    needed: &[&str],
) -> Vec<String> {
    let Some(Socket {
        unit: server,
        group,
    }) = listeners.sockets.get(socket)
    else {
        return vec![format!(
            "{name}: {key} names socket {socket}, where no server listens"
        )];
    };
    let mut found = Vec::new();
    if !after.contains(&server.as_str()) || !needed.contains(&server.as_str()) {
        found.push(format!(
            "{name} uses {server} ({key}) without After= and Requires=/Wants= on it"
        ));
    }
    if let Some(group) = group {
        if !strings(&unit["serviceConfig"]["SupplementaryGroups"]).contains(&group.as_str()) {
            found.push(format!(
                "{name} uses {server}'s socket without its group {group}, which alone enters its folder"
            ));
        }
    }
    found
}

/// The ports systemd holds for API units (socket units), with the unit each hands its socket to
/// and the socket's `FileDescriptorName=`.
pub fn held_ports(system: &Value) -> BTreeMap<u16, (String, String)> {
    let mut held = BTreeMap::new();
    for socket in system["sockets"]
        .as_object()
        .into_iter()
        .flat_map(|s| s.values())
    {
        let config = &socket["socketConfig"];
        let service = config["Service"].as_str().unwrap_or_default().to_owned();
        let name = config["FileDescriptorName"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for stream in strings(&socket["listenStreams"]) {
            if let Some(port) = stream_port(stream) {
                held.insert(port, (service.clone(), name.clone()));
            }
        }
    }
    held
}

/// The socket file systemd hands unit `name` as `fd_name`, if one of its sockets listens on a
/// path.
pub fn socket_file<'a>(system: &'a Value, name: &str, fd_name: &str) -> Option<&'a str> {
    system["sockets"]
        .as_object()?
        .values()
        .filter(|socket| {
            socket["socketConfig"]["Service"] == format!("{name}.service").as_str()
                && socket["socketConfig"]["FileDescriptorName"] == fd_name
        })
        .flat_map(|socket| strings(&socket["listenStreams"]))
        .find(|stream| stream.starts_with('/'))
}

/// The port of a socket unit's `ListenStream=` (`address:port`).
fn stream_port(stream: &str) -> Option<u16> {
    stream.rsplit(':').next()?.parse().ok()
}

/// Every port an API unit listens on (`PORT`, auth's `AUTH_ADMIN_PORT`) is held by a socket unit
/// that hands it to that unit under the name the process looks it up by, and the unit requires
/// and is ordered after it: bound while the process is down, no other local user can take it.
fn held_port_violations(system: &Value) -> Vec<String> {
    let held = held_ports(system);
    let mut found = Vec::new();
    for (name, socket) in system["sockets"].as_object().into_iter().flatten() {
        let config = &socket["socketConfig"];
        for stream in strings(&socket["listenStreams"]) {
            if stream_port(stream).is_none() && !stream.starts_with('/') {
                found.push(format!(
                    "socket {name} listens on `{stream}`, which names no port nor file: systemd refuses it"
                ));
            }
            // A socket file is made by systemd, 0666 unless told: every local user could
            // connect, as to a loopback port.
            let private = ["0600", "0660"].contains(&config["SocketMode"].as_str().unwrap_or(""))
                && config["SocketGroup"].is_string();
            if stream.starts_with('/') && !private {
                found.push(format!(
                    "socket {name} makes `{stream}` without SocketMode= 0660 and a SocketGroup=: any local user may connect"
                ));
            }
        }
        // Bound before the network is configured (sockets.target comes early in boot): an
        // address not up yet would fail the socket, and the API with it.
        if config["FreeBind"] != true {
            found.push(format!(
                "socket {name} is not FreeBind=: an address not up yet at boot fails it"
            ));
        }
        // A failed socket closes its port: activations refused by their rate limit would
        // hand the port to whoever binds it next.
        if config["TriggerLimitIntervalSec"] != 0 {
            found.push(format!(
                "socket {name} fails after a burst of activations (TriggerLimitIntervalSec=)"
            ));
        }
    }
    for (name, unit) in units(system) {
        let program = unit["serviceConfig"]["ExecStart"].as_str().unwrap_or("");
        if !name.starts_with("stackr-") || !program.ends_with("-api") {
            continue;
        }
        let sockets = strings(&unit["serviceConfig"]["Sockets"]);
        if !sockets.is_empty() {
            // A deploy that changes the unit stops a socket-activated service with its socket
            // (nixos-rebuild's default, stopIfChanged), leaving the port free until the start.
            if unit["stopIfChanged"] != false {
                found.push(format!(
                    "{name}: a deploy stops its sockets with it (stopIfChanged)"
                ));
            }
            // A service that hits its start limit fails its sockets, which close their ports.
            if unit["unitConfig"]["StartLimitIntervalSec"] != 0 {
                found.push(format!(
                    "{name}: its start limit would fail its sockets (StartLimitIntervalSec=)"
                ));
            }
        }
        for (key, fd_name) in [("PORT", "api"), ("AUTH_ADMIN_PORT", "admin")] {
            let Some(port) = env(unit, key).and_then(|p| p.parse::<u16>().ok()) else {
                continue;
            };
            if socket_file(system, name, fd_name).is_some() {
                // Handed a socket file instead, the process binds no port (its `PORT` is only
                // what it would bind, started without it).
                continue;
            }
            match held.get(&port) {
                Some((service, held_as)) if *service == format!("{name}.service") && held_as == fd_name => {}
                Some(other) => found.push(format!("{name}: {key} {port} is held for {other:?}")),
                None => found.push(format!(
                    "{name}: {key} {port} is bound by the process alone: free for any local user while it is down"
                )),
            }
        }
        for socket in &sockets {
            if !strings(&unit["requires"]).contains(socket)
                || !strings(&unit["after"]).contains(socket)
            {
                found.push(format!(
                    "{name} takes {socket} without Requires= and After= on it"
                ));
            }
        }
        if !sockets.is_empty() {
            found.extend(socket_change_violations(system, name, &sockets));
        }
    }
    found
}

/// The unit that applies a deploy's change of API unit `name`'s `sockets`
/// (`<name>-sockets.service`, modules/units.nix).
pub fn sockets_unit_name(name: &str) -> String {
    format!("{name}-sockets")
}

/// A deploy that changes an API's socket settings must rebind them: NixOS's
/// switch-to-configuration never restarts a changed `.socket` unit, and systemd keeps the old
/// listening socket through a daemon-reload. The API's `-sockets` unit is reloaded by
/// switch-to-configuration when its `reloadTriggers` alone change, so they must carry every
/// setting of every socket, and its reload must restart the sockets and the API together
/// (one `systemctl restart`: the API stops before its sockets and starts after them). Ordered
/// against the API, its reload job would wait on the restart it runs.
fn socket_change_violations(system: &Value, name: &str, sockets: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let applier = sockets_unit_name(name);
    let unit = &system["units"][&applier];
    if unit.is_null() {
        return vec![format!(
            "{name}: no {applier}.service: a deploy that changes its sockets leaves the old ones bound"
        )];
    }
    let triggers: Vec<Value> = strings(&unit["reloadTriggers"])
        .iter()
        .map(|t| serde_json::from_str(t).unwrap_or(Value::Null))
        .collect();
    for socket in sockets {
        let definition = &system["sockets"][socket.trim_end_matches(".socket")];
        let wanted = serde_json::json!({
            "listenStreams": definition["listenStreams"],
            "socketConfig": definition["socketConfig"],
        });
        if !triggers.contains(&wanted) {
            found.push(format!(
                "{applier}: its reloadTriggers miss the settings of {socket}: a deploy changing them would not apply them"
            ));
        }
    }
    let config = &unit["serviceConfig"];
    let reload: Vec<&str> = strings(&config["ExecReload"]);
    let restarts = reload
        .first()
        .is_some_and(|p| p.ends_with("/bin/systemctl"))
        && reload.get(1) == Some(&"restart");
    let service = format!("{name}.service");
    if !restarts
        || !sockets.iter().all(|s| reload.contains(s))
        || !reload.contains(&service.as_str())
    {
        found.push(format!(
            "{applier}: its reload does not restart {} and {service} together: {reload:?}",
            sockets.join(" ")
        ));
    }
    if config["Type"] != "oneshot" || config["RemainAfterExit"] != true {
        found.push(format!(
            "{applier}: not an active oneshot, so switch-to-configuration would not reload it"
        ));
    }
    for field in ["after", "before", "requires", "bindsTo", "partOf"] {
        if strings(&unit[field]).contains(&service.as_str()) {
            found.push(format!(
                "{applier}: {field} {service}: its reload would wait on the restart it runs"
            ));
        }
    }
    found
}

/// Who a unit runs as: its `User=`, else its own dynamic user, else root.
fn identity(name: &str, unit: &Value) -> String {
    let config = &unit["serviceConfig"];
    match config["User"].as_str() {
        Some(user) => user.to_owned(),
        None if config["DynamicUser"] == true => format!("dynamic user of {name}"),
        None => "root".to_owned(),
    }
}

/// One identity per state folder: systemd re-owns a StateDirectory to the starting unit's user,
/// so two identities on one folder (or one folder inside another identity's) lock each other out.
fn state_folder_violations(units: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut owners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, unit) in units {
        for folder in strings(&unit["serviceConfig"]["StateDirectory"]) {
            owners
                .entry(folder.to_owned())
                .or_default()
                .insert(identity(name, unit));
        }
    }
    let mut found = Vec::new();
    // systemd refuses a StateDirectory= that is not a relative path of plain components.
    for folder in owners.keys() {
        if folder.starts_with('/')
            || folder
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..")
        {
            found.push(format!(
                "state folder `{folder}` has an empty, `.` or `..` component (or is absolute): systemd refuses it"
            ));
        }
    }
    for (folder, identities) in &owners {
        if identities.len() > 1 {
            found.push(format!(
                "state folder {folder} is used by several identities: {}",
                identities.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        for (inner, inner_identities) in &owners {
            if inner.starts_with(&format!("{folder}/")) && inner_identities != identities {
                found.push(format!(
                    "state folder {inner} lies inside {folder}, which another identity owns"
                ));
            }
        }
    }
    found
}

/// SQL keywords whose next token is an identifier (role or database name).
const IDENTIFIER_KEYWORDS: &[&str] = &["ROLE", "DATABASE", "OWNER", "USER"];
/// Tokens that may follow those keywords without being identifiers.
const NON_IDENTIFIERS: &[&str] = &["WITH", "IF", "PUBLIC", "ALL"];

/// Every role or database name in `sql` is a quoted identifier (`"name"` or psql's `:"var"`),
/// so service names that are SQL keywords (`user`, `order`) stay valid.
pub fn sql_identifier_violations(context: &str, sql: &str) -> Vec<String> {
    let tokens: Vec<&str> = sql
        .split(|c: char| c.is_whitespace() || c == ';' || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    tokens
        .windows(2)
        .filter(|pair| IDENTIFIER_KEYWORDS.contains(&pair[0].trim_start_matches('\'')))
        .filter(|pair| {
            let next = pair[1];
            !(next.starts_with('"') || next.starts_with(":\"") || NON_IDENTIFIERS.contains(&next))
        })
        .map(|pair| {
            format!(
                "{context}: unquoted SQL identifier `{} {}`",
                pair[0], pair[1]
            )
        })
        .collect()
}

/// The pg_hba text of the PostgreSQL server holding service `owner`'s database: its own server's
/// (written by its preStart) in per-service mode, the system server's merged
/// `services.postgresql.authentication` (nixpkgs' header and defaults included) in shared mode.
/// `None` when the database lives on another host of a fleet (tests/it/fleet_eval.rs checks it
/// there).
fn server_hba(system: &Value, owner: &str) -> Option<String> {
    if system["stackr"]["postgresql"]["mode"] != "per-service" {
        return Some(
            system["postgresql"]["authentication"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        );
    }
    let server = &system["units"][format!("stackr-{owner}-postgresql")];
    let in_fleet = !system["stackr"]["fleet"]["thisHost"].is_null();
    if in_fleet && server.is_null() {
        return None;
    }
    let pre_start = server["preStart"].as_str().unwrap_or("");
    Some(
        pre_start
            .split_once("<<'HBA'\n")
            .and_then(|(_, rest)| rest.split_once("\nHBA"))
            .map_or(String::new(), |(rules, _)| rules.to_owned()),
    )
}

/// The databases other than its own that a service's role is tried against (physical
/// replication besides): every other service's, the server's own (`postgres`, where a role that
/// got in could `ALTER ROLE` its own password; `template1`), and one of the host's own (shared
/// mode's system server holds the host's databases too).
fn foreign_databases(services: &[String], owner: &str) -> Vec<String> {
    services
        .iter()
        .filter(|s| *s != owner)
        .map(|s| s.replace('-', "_"))
        .chain(["postgres", "template1", "hostdb"].map(str::to_owned))
        .collect()
}

/// A service's role logs in to no database but its own on the server holding that database,
/// however it connects: PostgreSQL reads the server's pg_hba lines in order, and the first line
/// matching decides. In shared mode the host's lines and nixpkgs' defaults (`local all all
/// peer`, `host all all 127.0.0.1/32 md5`) follow stackr's: without a line refusing the role
/// first, an OS account named like the role would get in by peer to `postgres` (and could set the
/// role's password there), and the role with its password would reach every database of the
/// host's server.
pub fn role_confinement_violations(system: &Value) -> Vec<String> {
    let services: Vec<String> = system["stackr"]["services"]
        .as_object()
        .map(|s| s.keys().cloned().collect())
        .unwrap_or_default();
    let mut found = Vec::new();
    for owner in &services {
        let Some(text) = server_hba(system, owner) else {
            continue;
        };
        let role = owner.replace('-', "_");
        let names = foreign_databases(&services, owner);
        let databases = names
            .iter()
            .map(|name| pg_hba::Database::Named(name))
            .chain([pg_hba::Database::Replication]);
        for database in databases {
            for via in std::iter::once(pg_hba::Via::Socket).chain(pg_hba::tcp_logins()) {
                if let Some(method) = pg_hba::method(&text, via, database, &role) {
                    if method != "reject" {
                        found.push(format!(
                            "{owner}'s role {role} reaches {database} {via} ({method})"
                        ));
                    }
                }
            }
        }
    }
    found
}

/// Each service's database admits only the service's own role, with a password, through the
/// server's socket (where its processes connect) and over TCP at most, in both PostgreSQL
/// modes; no other service's role gets in, and `postgres` only as the server's own identity
/// through the socket (`peer`).
fn database_isolation_violations(system: &Value) -> Vec<String> {
    let services: Vec<String> = system["stackr"]["services"]
        .as_object()
        .map(|s| s.keys().cloned().collect())
        .unwrap_or_default();
    let db = |service: &str| service.replace('-', "_");
    let mut found = Vec::new();
    for owner in &services {
        let Some(text) = server_hba(system, owner) else {
            continue;
        };
        let own = db(owner);
        let candidates = services
            .iter()
            .map(|s| db(s))
            .chain(["postgres".to_owned()]);
        for user in candidates {
            // No matching line refuses the login, as `reject` does.
            let login = |via| {
                pg_hba::method(&text, via, pg_hba::Database::Named(&own), &user).unwrap_or("reject")
            };
            let local = login(pg_hba::Via::Socket);
            // Over TCP: the first login from any address, with or without SSL, that is let in
            // without a password (own role) or at all (any other).
            let tcp = pg_hba::tcp_logins()
                .into_iter()
                .map(login)
                .find(|method| {
                    let allowed: &[&str] = if user == own {
                        &["scram-sha-256", "reject"]
                    } else {
                        &["reject"]
                    };
                    !allowed.contains(method)
                })
                .unwrap_or("reject");
            if user == own {
                if local != "scram-sha-256" {
                    found.push(format!(
                        "{owner}'s database does not admit its own role through the socket with a password ({local})"
                    ));
                }
                if !["scram-sha-256", "reject"].contains(&tcp) {
                    found.push(format!(
                        "{owner}'s database admits its own role over TCP without a password ({tcp})"
                    ));
                }
                continue;
            }
            if tcp != "reject" {
                found.push(format!(
                    "{owner}'s database admits role {user} over TCP ({tcp})"
                ));
            }
            if local != "reject" && !(user == "postgres" && local == "peer") {
                found.push(format!(
                    "{owner}'s database admits role {user} through the socket ({local})"
                ));
            }
        }
    }
    found
}
