//! The environment of each process of a stack: every name in [`CONTRACT`] with the processes that
//! read it. Those stackr sets itself are `reserved`: a config's `environment` may not override
//! them.

/// Which processes of a stack get a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every API and worker, auth included.
    Every,
    /// Every API (auth's and the base services'), not workers.
    Api,
    /// Base services' APIs and workers.
    Base,
    /// Base services' workers.
    Worker,
    /// The auth service.
    Auth,
    /// Set only on NixOS hosts (by systemd's `LoadCredential`, or by the modules of a deployment
    /// placed on several hosts), never in dev.
    Deployment,
}

/// One variable of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractVar {
    pub name: &'static str,
    pub scope: Scope,
    /// The value is a path to a file holding a secret (secrets never travel as values).
    pub secret_file: bool,
    /// stackr always sets it; a config's `environment` may not.
    pub reserved: bool,
}

pub const STACKR_SERVICE: &str = "STACKR_SERVICE";
pub const PORT: &str = "PORT";
/// The address an API listens on: every interface when unset (a deployed host, behind its
/// firewall); loopback in dev, so a laptop's dev stack is not open to its network.
pub const LISTEN_ADDRESS: &str = "LISTEN_ADDRESS";

/// The address an API listens on, from the value of [`LISTEN_ADDRESS`] (`None` when unset), or
/// why the value is not one.
pub fn listen_address(value: Option<&str>) -> Result<std::net::IpAddr, String> {
    match value {
        None => Ok(std::net::Ipv4Addr::UNSPECIFIED.into()),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| format!("`{raw}` is not an IP address such as 127.0.0.1 or 0.0.0.0")),
    }
}
pub const DATABASE_URL: &str = "DATABASE_URL";
pub const DATABASE_PASSWORD_FILE: &str = "DATABASE_PASSWORD_FILE";
pub const REDIS_URL: &str = "REDIS_URL";
pub const REDIS_PASSWORD_FILE: &str = "REDIS_PASSWORD_FILE";
pub const AUTH_URL: &str = "AUTH_URL";
pub const SERVICE_CREDENTIAL_FILE: &str = "SERVICE_CREDENTIAL_FILE";
pub const SESSION_CACHE_TTL_MS: &str = "SESSION_CACHE_TTL_MS";
pub const TRUSTED_ORIGINS: &str = "TRUSTED_ORIGINS";
/// `name=url,…`: the API of every base service, for calls made as the signed-in user.
pub const SERVICE_URLS: &str = "SERVICE_URLS";
/// `name,…`: the base services of [`SERVICE_URLS`] that authenticate no one (`authMiddleware`
/// `none`, every base service of a stack without auth): calls to them carry no user's cookie.
pub const ANONYMOUS_SERVICES: &str = "ANONYMOUS_SERVICES";
pub const STACKR_QUEUE: &str = "STACKR_QUEUE";
pub const STACKR_QUEUE_PREFIX: &str = "STACKR_QUEUE_PREFIX";
pub const WORKER_CONCURRENCY: &str = "WORKER_CONCURRENCY";
/// Connections the process's PostgreSQL pool opens at most (small in dev, where every service
/// runs its own small server; the kit's default when unset).
pub const DATABASE_POOL_SIZE: &str = "DATABASE_POOL_SIZE";
pub const AUTH_SECRET_FILE: &str = "AUTH_SECRET_FILE";
pub const AUTH_BASE_URL: &str = "AUTH_BASE_URL";
pub const AUTH_TRUSTED_ORIGINS: &str = "AUTH_TRUSTED_ORIGINS";
pub const AUTH_ADMIN_PORT: &str = "AUTH_ADMIN_PORT";
/// The address the admin dashboard listens on (set only when the config names one).
pub const AUTH_ADMIN_BIND: &str = "AUTH_ADMIN_BIND";
/// Reverse proxies whose `X-Forwarded-For` auth believes (addresses or CIDR blocks,
/// comma-separated).
pub const AUTH_TRUSTED_PROXIES: &str = "AUTH_TRUSTED_PROXIES";
/// Host names the admin dashboard answers to besides IP addresses and `localhost` (a reverse
/// proxy's public name), comma-separated.
pub const AUTH_ADMIN_HOSTS: &str = "AUTH_ADMIN_HOSTS";
pub const AUTH_PROVISION_SERVICES: &str = "AUTH_PROVISION_SERVICES";
pub const AUTH_ROLES: &str = "AUTH_ROLES";
pub const AUTH_SERVICE_CREDENTIALS_DIR: &str = "AUTH_SERVICE_CREDENTIALS_DIR";
pub const AUTH_MAIL_DIR: &str = "AUTH_MAIL_DIR";
pub const AUTH_OAUTH_PROVIDERS_FILE: &str = "AUTH_OAUTH_PROVIDERS_FILE";
/// The additional user fields, as JSON (see `crate::user_fields`); set only when the config
/// declares some.
pub const AUTH_USER_FIELDS: &str = "AUTH_USER_FIELDS";
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";
/// The deployment's CA certificate, to verify the TLS of stores and auth on other hosts.
pub const TLS_CA_FILE: &str = "TLS_CA_FILE";
/// Auth's own certificate and key: with both, auth serves HTTPS instead of HTTP.
pub const AUTH_TLS_CERT_FILE: &str = "AUTH_TLS_CERT_FILE";
pub const AUTH_TLS_KEY_FILE: &str = "AUTH_TLS_KEY_FILE";
pub const RUST_LOG: &str = "RUST_LOG";
pub const LOG_FORMAT: &str = "LOG_FORMAT";
pub const AUTH_SMTP_URL: &str = "AUTH_SMTP_URL";
pub const AUTH_SMTP_PASSWORD_FILE: &str = "AUTH_SMTP_PASSWORD_FILE";

/// Set by the process manager at each start (systemd, and `stackr dev`'s supervisor, which hands
/// over sockets the same way): where to say the process is ready (`Type=notify`), and the
/// listening sockets it is handed (sd_listen_fds(3)). A config's `environment` may not set them:
/// systemd's `Environment=` would override its own.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";
pub const LISTEN_PID: &str = "LISTEN_PID";
pub const LISTEN_FDS: &str = "LISTEN_FDS";
pub const LISTEN_FDNAMES: &str = "LISTEN_FDNAMES";
pub const SET_AT_EACH_START: &[&str] = &[NOTIFY_SOCKET, LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES];

const fn var(name: &'static str, scope: Scope) -> ContractVar {
    ContractVar {
        name,
        scope,
        secret_file: false,
        reserved: true,
    }
}

/// Read by the runtime, set by stackr only where the config asks for it (or by the developer).
const fn optional(name: &'static str, scope: Scope, secret_file: bool) -> ContractVar {
    ContractVar {
        name,
        scope,
        secret_file,
        reserved: false,
    }
}

const fn secret(name: &'static str, scope: Scope) -> ContractVar {
    ContractVar {
        name,
        scope,
        secret_file: true,
        reserved: true,
    }
}

/// Every variable of the contract.
pub const CONTRACT: &[ContractVar] = &[
    var(STACKR_SERVICE, Scope::Every),
    var(PORT, Scope::Api),
    var(DATABASE_URL, Scope::Every),
    secret(DATABASE_PASSWORD_FILE, Scope::Every),
    var(REDIS_URL, Scope::Every),
    secret(REDIS_PASSWORD_FILE, Scope::Every),
    var(AUTH_URL, Scope::Base),
    secret(SERVICE_CREDENTIAL_FILE, Scope::Base),
    var(SESSION_CACHE_TTL_MS, Scope::Base),
    var(TRUSTED_ORIGINS, Scope::Base),
    var(SERVICE_URLS, Scope::Base),
    var(ANONYMOUS_SERVICES, Scope::Base),
    var(STACKR_QUEUE, Scope::Base),
    var(STACKR_QUEUE_PREFIX, Scope::Base),
    var(WORKER_CONCURRENCY, Scope::Worker),
    var(DATABASE_POOL_SIZE, Scope::Base),
    secret(AUTH_SECRET_FILE, Scope::Auth),
    var(AUTH_BASE_URL, Scope::Auth),
    var(AUTH_TRUSTED_ORIGINS, Scope::Auth),
    var(AUTH_ADMIN_PORT, Scope::Auth),
    var(AUTH_ADMIN_BIND, Scope::Auth),
    var(AUTH_PROVISION_SERVICES, Scope::Auth),
    var(AUTH_ROLES, Scope::Auth),
    var(AUTH_SERVICE_CREDENTIALS_DIR, Scope::Auth),
    var(AUTH_MAIL_DIR, Scope::Auth),
    var(AUTH_OAUTH_PROVIDERS_FILE, Scope::Auth),
    var(AUTH_USER_FIELDS, Scope::Auth),
    var(CREDENTIALS_DIRECTORY, Scope::Deployment),
    var(TLS_CA_FILE, Scope::Deployment),
    // stackr gives it a default; a config may change it.
    optional(RUST_LOG, Scope::Every, false),
    // `json` for one JSON object per log line (`telemetry`); plain text otherwise.
    optional(LOG_FORMAT, Scope::Every, false),
    // Loopback in dev; a config may open a dev API to its network (a phone on the same wifi).
    optional(LISTEN_ADDRESS, Scope::Api, false),
    // Set by the NixOS module from its SMTP options; in dev the file mailbox is used unless the
    // developer sets them.
    optional(AUTH_SMTP_URL, Scope::Auth, false),
    // Set by the NixOS module in a fleet (its nginx) and from the operator's proxies.
    optional(AUTH_TRUSTED_PROXIES, Scope::Auth, false),
    // Set by the NixOS module when the operator puts the dashboard behind a named reverse proxy.
    optional(AUTH_ADMIN_HOSTS, Scope::Auth, false),
    optional(AUTH_SMTP_PASSWORD_FILE, Scope::Auth, true),
    // Set where auth's API is reached from other hosts without a TLS load balancer in front.
    optional(AUTH_TLS_CERT_FILE, Scope::Auth, true),
    optional(AUTH_TLS_KEY_FILE, Scope::Auth, true),
];

/// Whether stackr sets `name` itself (so a config may not).
pub fn is_reserved(name: &str) -> bool {
    CONTRACT.iter().any(|v| v.name == name && v.reserved)
}

/// The contract's variables a process of this kind may read.
pub fn read_by(scopes: &[Scope]) -> impl Iterator<Item = &'static ContractVar> + '_ {
    CONTRACT.iter().filter(move |v| scopes.contains(&v.scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_secret_files_say_so() {
        for (i, v) in CONTRACT.iter().enumerate() {
            assert!(
                !CONTRACT[..i].iter().any(|w| w.name == v.name),
                "{} is listed twice",
                v.name
            );
            assert_eq!(
                v.secret_file,
                v.name.ends_with("_FILE") && ![AUTH_OAUTH_PROVIDERS_FILE, TLS_CA_FILE].contains(&v.name),
                "{}: a secret travels as a *_FILE path, and only a secret (the providers file and the CA certificate are not secret)",
                v.name
            );
        }
    }
}
