//! Config -> Model: every semantic rule, each failing with a located, actionable [`ConfigError`].

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::names::{check_name, check_service_name};
use super::ports::{
    resolve_api_ports, AUTH_ADMIN_PORT, FIRST_BASE_PORT, SYSTEM_POSTGRES_PORT, SYSTEM_REDIS_PORT,
};
use super::{Model, Runtime, Service};
use crate::config::{
    locate, AuthMiddleware, ConfigError, JsonPath, ServiceConfig, ServiceKind, StackrConfig,
};

/// What to do about an `adminBind` the admin page cannot listen on.
const ADMIN_BIND_HELP: &str =
    "use an address of this host, e.g. `10.0.0.5` on a private network (the default is loopback)";

/// Builds located errors against one config text.
pub(super) struct Reporter<'a> {
    file: &'a Path,
    pub(super) text: &'a str,
}

impl Reporter<'_> {
    pub(super) fn error(
        &self,
        path: JsonPath,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> ConfigError {
        ConfigError::at_path(self.file, self.text, path, message, help)
    }
}

/// Validates a parsed config. `file` and `text` are only used to locate errors.
pub fn validate(config: &StackrConfig, file: &Path, text: &str) -> Result<Model, ConfigError> {
    let report = Reporter { file, text };
    check_name(&config.name).map_err(|why| {
        report.error(
            JsonPath::root().key("name"),
            format!("invalid project name: {why}"),
            "use a lowercase name like `my-stack`",
        )
    })?;
    check_state_dir(&config.state_dir).map_err(|why| {
        report.error(
            JsonPath::root().key("stateDir"),
            why,
            format!(
                "use a relative folder inside the project, like `{}`",
                stackr_contract::DEFAULT_STATE_DIR
            ),
        )
    })?;
    check_deploy_state_dir(&config.deploy.state_dir).map_err(|why| {
        report.error(
            JsonPath::root().key("deploy").key("stateDir"),
            why,
            "use a folder under /var/lib of letters, digits, `.`, `_`, `-` and `/`, like `/var/lib/stackr`",
        )
    })?;
    let runtime = resolve_runtime(config, &report)?;
    check_service_names(config, &report)?;
    check_auth_presence(config, &report)?;
    let services = resolve_services(config, &report)?;
    super::role_spellings::check(config, &report)?;
    check_port_collisions(config, &services, &report)?;
    check_port_ranges(config, &services, &report)?;
    let placement = super::placement::resolve(config, &services, &report)?;
    Ok(Model {
        name: config.name.clone(),
        state_dir: normal_state_dir(&config.state_dir),
        runtime,
        dev: config.dev.clone(),
        deploy: config.deploy.clone(),
        services,
        placement,
    })
}

/// `dir` (a checked `stateDir`) spelled one way, so that comparing it with the project's own
/// paths finds them: no `.` part, no empty part (`./services/` is `services`); the project
/// itself is `.`.
fn normal_state_dir(dir: &str) -> String {
    let parts: Vec<&str> = dir
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// `deploy.stateDir`: where the NixOS module wants it (systemd's `StateDirectory=` is under
/// /var/lib), in characters that need no quoting in the Nix, shell and Python the generator
/// writes it into.
fn check_deploy_state_dir(dir: &str) -> Result<(), String> {
    let rest = dir.strip_prefix("/var/lib/").unwrap_or_default();
    let plain = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    if rest.trim_end_matches('/').split('/').all(plain) {
        Ok(())
    } else {
        Err(format!(
            "deploy.stateDir `{dir}` must be a folder under /var/lib, named with letters, digits, `.`, `_` and `-`"
        ))
    }
}

/// `stateDir`: a relative folder inside the project whose every name needs no quoting in the
/// shell commands of the dev stack (`mkdir`, `chmod`, `rm -rf` of `stackr dev --reset`): no
/// `;`, `~`, glob or brace, and no name starting with `-` that a command would take for an
/// option.
fn check_state_dir(dir: &str) -> Result<(), String> {
    let plain = |part: &str| {
        part != ".."
            && !part.starts_with('-')
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    if dir.is_empty() || dir.starts_with('/') || !dir.split('/').all(plain) {
        return Err(format!(
            "stateDir `{dir}` must be a relative path without `..`, its folders named with letters, digits, `.`, `_` and `-`, none starting with `-`"
        ));
    }
    // Folders of the project's root that something deletes on its own, and the state with them
    // (the dev databases, the deployment's only copy of its secrets).
    let normal = normal_state_dir(dir);
    let top = normal.split('/').next().unwrap_or_default();
    if top.starts_with(crate::layout::STAGING_PREFIX) {
        return Err(format!(
            "stateDir `{dir}` is named like the folders of an interrupted write (`{}`), which the next stackr command deletes",
            crate::layout::STAGING_PREFIX
        ));
    }
    if top == CARGO_TARGET_DIR {
        return Err(format!(
            "stateDir `{dir}` is inside `{CARGO_TARGET_DIR}`, cargo's build folder, which `cargo clean` deletes"
        ));
    }
    Ok(())
}

/// cargo's build folder in the project's root (the services' workspace).
const CARGO_TARGET_DIR: &str = "target";

fn resolve_runtime(config: &StackrConfig, report: &Reporter) -> Result<Runtime, ConfigError> {
    let source = &config.runtime;
    let path = JsonPath::root().key("runtime");
    let help = "set exactly one of `vendored` (a stackr version), `path` (folder with auth/ and kit/), `git` + `rev`, or `version`";
    // Each reaches the services' Cargo.toml (and `vendored` a folder name).
    for (field, value) in [
        ("vendored", &source.vendored),
        ("path", &source.path),
        ("git", &source.git),
        ("rev", &source.rev),
        ("version", &source.version),
    ] {
        if let Some(c) = value.as_deref().and_then(control_character) {
            return Err(report.error(
                path.clone().key(field),
                format!("`runtime.{field}` holds the control character {c:?}"),
                format!("write `runtime.{field}` without control characters"),
            ));
        }
    }
    let sources = [
        source.vendored.is_some(),
        source.path.is_some(),
        source.git.is_some() || source.rev.is_some(),
        source.version.is_some(),
    ];
    if sources.into_iter().filter(|given| *given).count() > 1 {
        return Err(report.error(path, "the runtime source is ambiguous", help));
    }
    match (
        &source.vendored,
        &source.path,
        &source.git,
        &source.rev,
        &source.version,
    ) {
        (Some(v), ..) => Ok(Runtime::Vendored(v.clone())),
        (_, Some(p), ..) => Ok(Runtime::Path(p.trim_end_matches('/').to_owned())),
        (_, _, Some(url), Some(rev), _) => Ok(Runtime::Git {
            url: url.clone(),
            rev: rev.clone(),
        }),
        (_, _, Some(_), None, _) => Err(report.error(
            path,
            "`runtime.git` needs a pinned `rev`",
            "add `\"rev\": \"<full commit hash>\"` so builds are reproducible",
        )),
        (_, _, None, Some(_), _) => Err(report.error(
            path,
            "`runtime.rev` is given without `git`",
            "add `\"git\": \"<repository URL>\"`, or remove `rev`",
        )),
        (_, _, _, _, Some(v)) => Ok(Runtime::Version(v.clone())),
        (None, None, None, None, None) => Ok(Runtime::Vendored(crate::layout::VERSION.to_owned())),
    }
}

fn check_service_names(config: &StackrConfig, report: &Reporter) -> Result<(), ConfigError> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, service) in config.services.iter().enumerate() {
        let path = JsonPath::service(index).key("name");
        check_service_name(&service.name).map_err(|why| {
            report.error(
                path.clone(),
                format!("invalid service name: {why}"),
                "use a lowercase name like `billing` or `user-profile`",
            )
        })?;
        if let Some(first) = seen.insert(&service.name, index) {
            let first_line = locate(report.text, &JsonPath::service(first).key("name"))
                .map_or(String::new(), |(line, _)| format!(" (line {line})"));
            return Err(report.error(
                path,
                format!(
                    "duplicate service name `{}`: already used by services[{first}]{first_line}",
                    service.name
                ),
                "give every service a unique name",
            ));
        }
    }
    // Auth answers each base service's provisioning flag under a name made from the service's,
    // hyphens dropped: two services with one flag would each read the other's answer.
    let mut flags: BTreeMap<String, usize> = BTreeMap::new();
    for (index, service) in config.services.iter().enumerate() {
        let flag = stackr_contract::has_account_field(&service.name);
        if let Some(first) = flags.insert(flag.clone(), index) {
            let first = &config.services[first].name;
            return Err(report.error(
                JsonPath::service(index).key("name"),
                format!(
                    "services `{first}` and `{}` would share auth's account flag `{flag}`, each reading the other's",
                    service.name
                ),
                "rename one so the names differ by more than hyphens",
            ));
        }
    }
    for (index, service) in config.services.iter().enumerate() {
        let Some(other) = service.name.strip_suffix(POSTGRES_USER_SUFFIX) else {
            continue;
        };
        if seen.contains_key(other) {
            return Err(report.error(
                JsonPath::service(index).key("name"),
                format!(
                    "service name `{}` is the system user of `{other}`'s PostgreSQL server on NixOS (`stackr-{}`), which would then run both",
                    service.name, service.name
                ),
                format!("rename it, e.g. to `{other}-data`"),
            ));
        }
    }
    Ok(())
}

/// What the NixOS modules append to `stackr-<service>`, the system user of a service's API and
/// worker, to name the user of its own PostgreSQL server (modules/lib.nix, `postgresUser`).
const POSTGRES_USER_SUFFIX: &str = "-pg";

fn check_auth_presence(config: &StackrConfig, report: &Reporter) -> Result<(), ConfigError> {
    let auths: Vec<usize> = config
        .services
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == ServiceKind::Auth)
        .map(|(i, _)| i)
        .collect();
    if let [first, second, ..] = auths[..] {
        return Err(report.error(
            JsonPath::service(second).key("kind"),
            format!(
                "more than one auth service: `{}` and `{}`",
                config.services[first].name, config.services[second].name
            ),
            "a stack has exactly one auth service; make the others `\"kind\": \"base\"`",
        ));
    }
    if auths.is_empty() {
        let guarded = config
            .services
            .iter()
            .position(|s| s.auth_middleware.unwrap_or_default() != AuthMiddleware::None);
        if let Some(index) = guarded {
            let service = &config.services[index];
            let flavor = service.auth_middleware.unwrap_or_default().as_str();
            return Err(report.error(
                JsonPath::service(index),
                format!(
                    "base service `{}` uses auth middleware `{flavor}` but the stack has no auth service",
                    service.name
                ),
                "add a service with `\"kind\": \"auth\"` to the config, or set `\"authMiddleware\": \"none\"` on this service",
            ));
        }
    }
    Ok(())
}

fn resolve_services(config: &StackrConfig, report: &Reporter) -> Result<Vec<Service>, ConfigError> {
    let ports = resolve_api_ports(&config.services);
    config
        .services
        .iter()
        .zip(ports)
        .enumerate()
        .map(|(index, (service, port))| {
            let port = port.ok_or_else(|| {
                report.error(
                    JsonPath::service(index),
                    format!(
                        "no default API port is left for `{}`: the services before it take every port from {FIRST_BASE_PORT} to 65535",
                        service.name
                    ),
                    "give it a `port`, or split the stack: one port per service has to fit",
                )
            })?;
            resolve_service(index, service, port, report)
        })
        .collect()
}

/// Checks one service's fields against its kind and fills its defaults.
fn resolve_service(
    index: usize,
    service: &ServiceConfig,
    port: u16,
    report: &Reporter,
) -> Result<Service, ConfigError> {
    let at = |field: &str| JsonPath::service(index).key(field);
    let is_auth = service.kind == ServiceKind::Auth;
    check_kind_specific_fields(service, is_auth, &at, report)?;
    let middleware = (!is_auth).then(|| service.auth_middleware.unwrap_or_default());
    if !service.roles.is_empty() && middleware != Some(AuthMiddleware::RoleGated) {
        return Err(report.error(
            at("roles"),
            "`roles` only applies to `role-gated` services",
            "set `\"authMiddleware\": \"role-gated\"` or remove `roles`",
        ));
    }
    if middleware == Some(AuthMiddleware::RoleGated) && service.roles.is_empty() {
        return Err(report.error(
            at("authMiddleware"),
            format!("`{}` is role-gated but lists no roles, so only admins could call it", service.name),
            "add the roles it lets through, e.g. `\"roles\": [\"finance\"]`, or choose another `authMiddleware`",
        ));
    }
    for (role_index, role) in service.roles.iter().enumerate() {
        if !stackr_contract::roles::is_valid_name(role) {
            return Err(report.error(
                at("roles").index(role_index),
                format!("invalid role `{role}`"),
                stackr_contract::roles::NAME_RULE,
            ));
        }
    }
    let admin_bind = match &service.admin_bind {
        Some(address) => {
            let parsed: std::net::IpAddr = address.parse().map_err(|_| {
                report.error(
                    at("adminBind"),
                    format!("`{address}` is not an IP address"),
                    ADMIN_BIND_HELP,
                )
            })?;
            // Such an address fails only when auth starts on the host: a socket cannot listen on
            // a group or broadcast address, nor on a link-local IPv6 one without its interface.
            let unlistenable = match parsed.to_canonical() {
                std::net::IpAddr::V4(v4) => v4.is_multicast() || v4.is_broadcast(),
                std::net::IpAddr::V6(v6) => v6.is_multicast() || v6.is_unicast_link_local(),
            };
            if unlistenable {
                return Err(report.error(
                    at("adminBind"),
                    format!(
                        "`{address}` is a multicast, broadcast or link-local address, which the admin page cannot listen on"
                    ),
                    ADMIN_BIND_HELP,
                ));
            }
            Some(parsed)
        }
        None => None,
    };
    if let Some(url) = &service.base_url {
        super::base_url::check(url).map_err(|why| {
            report.error(
                at("baseUrl"),
                format!("baseUrl `{url}` is not one plain http(s) URL: {why}"),
                "use the URL browsers reach auth at, without a wildcard, list, `%`, credentials, query or fragment, e.g. `https://auth.example.com`",
            )
        })?;
    }
    for (origin_index, origin) in service.trusted_origins.iter().flatten().enumerate() {
        if !is_origin(origin) {
            return Err(report.error(
                at("trustedOrigins").index(origin_index),
                format!("`{origin}` is not a browser origin"),
                "use `scheme://host[:port]` with http or https, e.g. `https://app.example.com` (a `*.` wildcard may start the host)",
            ));
        }
    }
    for (key, value) in &service.environment {
        if !is_allowed_env_name(key) {
            return Err(report.error(
                at("environment").key(key),
                format!("environment variable `{key}` is not allowed"),
                "use UPPER_SNAKE_CASE names that stackr does not set itself (PORT, DATABASE_URL, … are generated)",
            ));
        }
        // Written into nix/stackr.nix, systemd's Environment= and process-compose.yaml.
        if let Some(c) = control_character(value) {
            return Err(report.error(
                at("environment").key(key),
                format!("the value of `{key}` holds the control character {c:?}"),
                "write the value on one line, without control characters",
            ));
        }
    }
    super::oauth::check(&service.oauth_providers).map_err(|refused| {
        report.error(
            at("oauthProviders").index(refused.index).key(refused.field),
            refused.message,
            refused.help,
        )
    })?;
    super::user_fields::check(&service.user_fields).map_err(|refused| {
        report.error(
            at("userFields").index(refused.index).key(refused.field),
            refused.message,
            refused.help,
        )
    })?;
    if service.worker_concurrency == Some(0) {
        return Err(report.error(
            at("workerConcurrency"),
            "worker concurrency must be at least 1",
            "use a positive number like 10",
        ));
    }
    Ok(Service {
        name: service.name.clone(),
        kind: service.kind,
        port,
        admin_port: is_auth.then(|| service.admin_port.unwrap_or(AUTH_ADMIN_PORT)),
        admin_bind,
        middleware,
        roles: service.roles.clone(),
        worker: service.worker.unwrap_or(!is_auth),
        worker_concurrency: service.worker_concurrency.unwrap_or(10),
        base_url: is_auth.then(|| {
            service
                .base_url
                .clone()
                .unwrap_or_else(|| format!("http://localhost:{port}"))
        }),
        trusted_origins: match (is_auth, &service.trusted_origins) {
            (false, _) => Vec::new(),
            (true, Some(origins)) => origins.clone(),
            (true, None) => vec!["http://localhost:3000".to_owned()],
        },
        oauth_providers: service.oauth_providers.clone(),
        user_fields: service.user_fields.clone(),
        environment: service.environment.clone(),
    })
}

/// `adminPort`, `baseUrl`, `trustedOrigins`, `oauthProviders` and `userFields` belong to auth; `authMiddleware` never does.
fn check_kind_specific_fields(
    service: &ServiceConfig,
    is_auth: bool,
    at: &dyn Fn(&str) -> JsonPath,
    report: &Reporter,
) -> Result<(), ConfigError> {
    let auth_only = [
        ("adminPort", service.admin_port.is_some()),
        ("adminBind", service.admin_bind.is_some()),
        ("baseUrl", service.base_url.is_some()),
        ("trustedOrigins", service.trusted_origins.is_some()),
        ("oauthProviders", !service.oauth_providers.is_empty()),
        ("userFields", !service.user_fields.is_empty()),
    ];
    for (field, present) in auth_only {
        if present && !is_auth {
            return Err(report.error(
                at(field),
                format!("`{field}` only applies to the auth service"),
                format!("remove `{field}` from `{}`", service.name),
            ));
        }
    }
    if is_auth && service.auth_middleware.is_some() {
        return Err(report.error(
            at("authMiddleware"),
            "the auth service has no auth middleware: it is the authority",
            "remove `authMiddleware` from the auth service",
        ));
    }
    Ok(())
}

/// `http(s)://host[:port]`, optionally `/`-terminated, the host possibly starting with `*.`:
/// what auth's and the guard's origin lists accept.
fn is_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = match rest.rsplit_once(':') {
        // `[::1]` is a host alone; `[::1]:8080` and `localhost:3000` end in a port.
        Some((host, port)) if !rest.ends_with(']') => (host, Some(port)),
        _ => (rest, None),
    };
    let host = host.strip_prefix("*.").unwrap_or(host);
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.[]:".contains(c));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    // Auth drops an entry it cannot read as a URL (`[::1`, `999.1.1.1`) without a word; a
    // wildcard's host is read with a label in the wildcard's place.
    let read = origin.replacen("://*.", "://x.", 1);
    host_ok && port_ok && stackr_contract::origin::origin_of(&read).is_some()
}

/// The first control character of `text` (a NUL, a newline, DEL, …), which no generated file
/// takes raw.
fn control_character(text: &str) -> Option<char> {
    text.chars().find(|c| c.is_control())
}

fn is_allowed_env_name(key: &str) -> bool {
    let well_formed = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    well_formed
        && !stackr_contract::env::is_reserved(key)
        && !stackr_contract::env::SET_AT_EACH_START.contains(&key)
}

/// A port a service claims: its API port, or the admin port of auth.
#[derive(Clone, Copy)]
struct Claim {
    service: usize,
    admin: bool,
}

impl Claim {
    fn describe(self, services: &[Service]) -> String {
        let which = if self.admin { "admin" } else { "API" };
        format!("the {which} port of `{}`", services[self.service].name)
    }

    /// The field that set the port, or the service when the port is a default.
    fn path(self, config: &StackrConfig) -> JsonPath {
        let explicit = &config.services[self.service];
        let (set, field) = if self.admin {
            (explicit.admin_port.is_some(), "adminPort")
        } else {
            (explicit.port.is_some(), "port")
        };
        let service = JsonPath::service(self.service);
        if set {
            service.key(field)
        } else {
            service
        }
    }
}

/// API and admin ports must be distinct and non-zero. Linear: claims are looked up by port, and
/// messages are built only for an error.
fn check_port_collisions(
    config: &StackrConfig,
    services: &[Service],
    report: &Reporter,
) -> Result<(), ConfigError> {
    let mut used: HashMap<u16, Claim> = HashMap::with_capacity(services.len() + 1);
    for (index, service) in services.iter().enumerate() {
        let api = (service.port, false);
        let admin = service.admin_port.map(|port| (port, true));
        for (port, admin) in std::iter::once(api).chain(admin) {
            let claim = Claim {
                service: index,
                admin,
            };
            if port < 1024 {
                return Err(report.error(
                    claim.path(config),
                    format!(
                        "{} is {port}; ports below 1024 need root",
                        claim.describe(services)
                    ),
                    "pick a port from 1024 to 65535",
                ));
            }
            if let Some(system) = [
                (SYSTEM_POSTGRES_PORT, "PostgreSQL"),
                (SYSTEM_REDIS_PORT, "Redis"),
            ]
            .iter()
            .find(|(system, _)| *system == port)
            {
                return Err(report.error(
                    claim.path(config),
                    format!(
                        "{} is {port}, the system {} port (a deployment's {} listens there)",
                        claim.describe(services),
                        system.1,
                        system.1
                    ),
                    "pick another port, e.g. the next free one from 8080",
                ));
            }
            if let Some(other) = used.get(&port) {
                return Err(report.error(
                    claim.path(config),
                    format!(
                        "port collision: {} is {port}, already {}",
                        claim.describe(services),
                        other.describe(services)
                    ),
                    "give each API and admin page its own port (`stackr add service` picks a free one)",
                ));
            }
            used.insert(port, claim);
        }
    }
    Ok(())
}

/// Dev and deployed PostgreSQL/Redis ranges (one port per service) must avoid the system
/// defaults, each other and the API ports.
fn check_port_ranges(
    config: &StackrConfig,
    services: &[Service],
    report: &Reporter,
) -> Result<(), ConfigError> {
    let count = services.len().max(1) as u32;
    // Each API port with its service, named in an error.
    let api: Vec<(u16, &str)> = services
        .iter()
        .flat_map(|s| {
            std::iter::once(s.port)
                .chain(s.admin_port)
                .map(|port| (port, s.name.as_str()))
        })
        .collect();
    let ranges = [
        (
            JsonPath::root().key("dev").key("postgresPortStart"),
            config.dev.postgres_port_start,
            "dev PostgreSQL",
        ),
        (
            JsonPath::root().key("dev").key("redisPortStart"),
            config.dev.redis_port_start,
            "dev Redis",
        ),
        (
            JsonPath::root().key("deploy").key("redisPortStart"),
            config.deploy.redis_port_start,
            "deployed Redis",
        ),
        (
            JsonPath::root().key("deploy").key("postgresPortStart"),
            config.deploy.postgres_port_start,
            "deployed PostgreSQL",
        ),
    ];
    // Ranges that share a machine must not overlap: dev with dev, deploy with deploy.
    let same_machine = [(1, 0), (3, 2)];
    for (i, (path, start, what)) in ranges.iter().enumerate() {
        // One past the range's last port.
        let end = u32::from(*start) + count;
        // Errors point at the field when the config sets it, else at the root, where no snippet
        // shows the field: the help then names it. Resolved only for an error: finding a field
        // scans the whole config text.
        let error = |message: String, help: &str| {
            if locate(report.text, path).is_some() {
                report.error(path.clone(), message, help)
            } else {
                report.error(
                    JsonPath::root(),
                    message,
                    format!("{help}: the range starts at `{path}`, left at its default {start}"),
                )
            }
        };
        if *start < 1024 || end > 65536 {
            return Err(error(
                format!(
                    "the {what} port range {start}..{} does not fit in 1024..65535",
                    end - 1
                ),
                "choose a start port so that one port per service fits",
            ));
        }
        let contains = |port: u16| (u32::from(*start)..end).contains(&u32::from(port));
        for system in [SYSTEM_POSTGRES_PORT, SYSTEM_REDIS_PORT] {
            if contains(system) {
                let last = end - 1;
                return Err(error(
                    format!("the {what} port range {start}..{last} includes the system default port {system}"),
                    "stackr never uses 5432/6379 so it cannot clash with a system database; move the range",
                ));
            }
        }
        if let Some((port, service)) = api.iter().find(|(p, _)| contains(*p)) {
            return Err(error(
                format!(
                    "port collision: the {what} port range {start}..{} (one port per service) includes port {port} of `{service}`",
                    end - 1
                ),
                &format!("move `{service}` to another port, or the range away from the API ports"),
            ));
        }
        for (_, other) in same_machine.iter().filter(|(this, _)| *this == i) {
            let (_, other_start, other_what) = &ranges[*other];
            let other_end = u32::from(*other_start) + count;
            if u32::from(*start) < other_end && u32::from(*other_start) < end {
                return Err(error(
                    format!(
                        "port collision: the {what} port range overlaps the {other_what} range"
                    ),
                    "keep the PostgreSQL and Redis ranges apart",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_origin;

    /// A range left at its default is reported at the document root, where no snippet shows
    /// its field: the help names the field that moves it.
    #[test]
    fn a_default_range_in_the_way_is_named_by_its_field() {
        let services: Vec<String> = (0..999).map(|i| format!(r#"{{"name":"s{i}"}}"#)).collect();
        let text = format!(
            r#"{{"name":"big","services":[{{"name":"auth","kind":"auth"}},{}]}}"#,
            services.join(",")
        );
        let file = std::path::Path::new("stackr.config.json");
        let config = crate::config::parse_config(file, &text).unwrap();
        let error = super::validate(&config, file, &text).unwrap_err();
        assert!(
            error.message.contains("deployed PostgreSQL"),
            "{}",
            error.message
        );
        assert!(
            error.help.contains("`deploy.postgresPortStart`"),
            "{}",
            error.help
        );
    }

    /// The admin page's address must be one a server can listen on: a multicast or broadcast
    /// address, or an IPv6 link-local one (no interface can be named), fails only when auth
    /// starts on the host.
    #[test]
    fn an_admin_page_address_no_server_can_listen_on_is_refused() {
        let file = std::path::Path::new("stackr.config.json");
        let with = |bind: &str| {
            format!(
                r#"{{"name":"shop","services":[{{"name":"auth","kind":"auth","adminBind":"{bind}"}}]}}"#
            )
        };
        for bad in ["224.0.0.1", "255.255.255.255", "ff02::1", "fe80::1"] {
            let text = with(bad);
            let config = crate::config::parse_config(file, &text).unwrap();
            let error = super::validate(&config, file, &text).unwrap_err();
            assert_eq!(error.path.to_string(), "services[0].adminBind", "{bad}");
            assert!(error.message.contains(bad), "{bad}: {}", error.message);
        }
        for good in [
            "127.0.0.1",
            "127.0.0.2",
            "::1",
            "10.0.0.5",
            "0.0.0.0",
            "fd00::5",
        ] {
            let text = with(good);
            let config = crate::config::parse_config(file, &text).unwrap();
            assert!(super::validate(&config, file, &text).is_ok(), "{good}");
        }
    }

    /// Auth drops, without a word, a trusted origin it cannot read as a URL (the contract's
    /// `origin_of`): one the config took would never be trusted, its sign-ins refused.
    #[test]
    fn origins_auth_cannot_read_are_refused() {
        for bad in [
            "http://[::1",
            "http://[zz]",
            "http://[::1]]",
            "http://a:80:80",
            "http://::1",
            "http://999.1.1.1",
            "https://*.[::1]",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }

    #[test]
    fn origins_are_scheme_host_and_optional_port() {
        for good in [
            "http://localhost:3000",
            "https://app.example.com/",
            "https://*.example.com",
            "http://[::1]",
            "http://[::1]:8080",
        ] {
            assert!(is_origin(good), "{good}");
        }
        for bad in [
            "not a url",
            "localhost:3000",
            "ftp://example.com",
            "https://",
            "http://example.com:0",
            "http://example.com/app",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }
}
