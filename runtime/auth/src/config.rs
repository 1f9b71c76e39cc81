//! Configuration from the environment (names pinned in docs/runtime-contract.md).
//!
//! Secrets are read from files (`AUTH_SECRET_FILE`, `DATABASE_PASSWORD_FILE`,
//! `AUTH_SERVICE_CREDENTIALS_DIR/<svc>-credential`, `AUTH_SMTP_PASSWORD_FILE`), never from the
//! command line, and never appear in `Debug` output or logs.

use stackr_contract::env as contract;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

/// A secret value; `Debug` prints `<redacted>`.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where outgoing mail goes.
#[derive(Debug, Clone)]
pub enum MailConfig {
    /// Dev mailbox: one file per message plus `mailbox.log` in this folder.
    Mailbox(PathBuf),
    /// SMTP relay (`smtp://`, `smtps://` or `smtp+starttls://`), password from a file.
    Smtp {
        url: String,
        password: Option<Secret>,
    },
    /// Nothing configured: mail-dependent endpoints answer as BetterAuth does without a sender.
    Disabled,
}

/// Session lifetimes (BetterAuth defaults: 7 days, refresh after 1 day, fresh for 1 day).
#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub expires_in: Duration,
    pub update_age: Duration,
    pub fresh_age: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            expires_in: Duration::from_secs(604_800),
            update_age: Duration::from_secs(86_400),
            fresh_age: Duration::from_secs(86_400),
        }
    }
}

/// Everything the auth service needs to run.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Keys for cookies, verification JWTs and 2FA data at rest (each ≥ 32 characters); see
    /// `crate::secrets` for rotation.
    pub secrets: crate::secrets::Secrets,
    /// PostgreSQL connection (password already merged in).
    pub database: tokio_postgres::Config,
    /// Plain, or TLS verified against the deployment CA (`sslmode=verify-full` in the URL).
    pub database_tls: stackr_tls::postgres::PostgresTls,
    /// `AUTH_TLS_CERT_FILE` and `AUTH_TLS_KEY_FILE`: the API serves HTTPS with them.
    pub https: Option<std::sync::Arc<stackr_tls::server::ServerConfig>>,
    pub port: u16,
    /// `LISTEN_ADDRESS`: where the API listens (every interface when unset).
    pub listen_address: std::net::IpAddr,
    /// Port of the admin dashboard; `None` disables it.
    pub admin_port: Option<u16>,
    /// Address the admin dashboard listens on (`AUTH_ADMIN_BIND`): loopback unless an operator
    /// opens it to a private network.
    pub admin_bind: std::net::IpAddr,
    /// Host names the dashboard answers to besides IP addresses and `localhost`
    /// (`AUTH_ADMIN_HOSTS`, lower case): those of a reverse proxy in front of it.
    pub admin_hosts: Vec<String>,
    /// Public URL of this service (`https://` switches cookies to `__Secure-` + `Secure`).
    pub base_url: url::Url,
    /// Extra trusted origins (the base URL's origin is always trusted).
    pub trusted_origins: Vec<String>,
    /// Services allowed to provision, with their credentials.
    pub provision_services: BTreeMap<String, Secret>,
    pub mail: MailConfig,
    pub mail_from: String,
    /// Per-IP rate limits on sign-in/sign-up/reset/verification mail (`AUTH_RATE_LIMITS=off`
    /// disables them, e.g. for end-to-end tests that sign many users in from one address).
    pub rate_limits: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`AUTH_TRUSTED_PROXIES`; see
    /// `crate::client_ip`). Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<crate::client_ip::IpNet>,
    /// Sign-in requires a verified email (BetterAuth `requireEmailVerification`).
    pub require_email_verification: bool,
    pub session: SessionSettings,
    /// Size of the PostgreSQL connection pool.
    pub pool_size: usize,
    /// get-session cache lifetime (`AUTH_SESSION_CACHE_MS`, default 1000; 0 disables). See
    /// `crate::session_cache` for why this cannot serve revoked sessions.
    pub session_cache_ttl: Duration,
    /// Additional user fields (`AUTH_USER_FIELDS`), in the declared order.
    pub user_fields: Vec<crate::user_fields::UserField>,
    /// Roles `set-role` accepts besides `user` and `admin` (`AUTH_ROLES`).
    pub roles: crate::roles::Roles,
    /// OpenID Connect providers (`AUTH_OAUTH_PROVIDERS_FILE`, see `crate::oauth::providers`).
    pub oauth_providers: Vec<crate::oauth::ProviderConfig>,
}

/// The entries of a comma-separated list, trimmed, empty ones left out.
fn comma_list(list: &str) -> impl Iterator<Item = &str> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
}

/// The names of `AUTH_ADMIN_HOSTS` (comma-separated host names, no port), lower case.
fn admin_hosts(list: &str) -> anyhow::Result<Vec<String>> {
    comma_list(list)
        .map(|name| {
            let plain = name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            anyhow::ensure!(
                plain,
                "AUTH_ADMIN_HOSTS: `{name}` is not a host name (e.g. admin.example.com, without scheme or port)"
            );
            Ok(name.to_ascii_lowercase())
        })
        .collect()
}

/// Reads a variable, treating empty as unset.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn required(name: &str, what: &str) -> anyhow::Result<String> {
    var(name).ok_or_else(|| anyhow!("environment variable {name} is not set: it must hold {what}"))
}

/// Reads a secret file, trimming one trailing newline (editors add one).
pub fn read_secret_file(path: &Path, var_name: &str) -> anyhow::Result<Secret> {
    let raw = std::fs::read(path)
        .with_context(|| format!("cannot read {var_name} file {}", path.display()))?;
    let mut v = raw;
    while matches!(v.last(), Some(b'\n' | b'\r')) {
        v.pop();
    }
    if v.is_empty() {
        bail!("{var_name} file {} is empty", path.display());
    }
    Ok(Secret(v))
}

fn parse_bool(name: &str, default: bool) -> anyhow::Result<bool> {
    match var(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "on" | "yes") => Ok(true),
        Some("0" | "false" | "off" | "no") => Ok(false),
        Some(other) => bail!("{name}={other} is not a boolean (use true/false, on/off, 1/0)"),
    }
}

/// Where the admin dashboard listens by default.
const LOOPBACK: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn parse_port(name: &str, value: &str) -> anyhow::Result<u16> {
    value
        .parse()
        .with_context(|| format!("{name}={value} is not a TCP port number"))
}

/// `DATABASE_URL` (no password) + `DATABASE_PASSWORD_FILE`, merged; TLS when the URL says
/// `sslmode=verify-full` (verified against its `sslrootcert` or `TLS_CA_FILE`).
pub fn database_from_env(
) -> anyhow::Result<(tokio_postgres::Config, stackr_tls::postgres::PostgresTls)> {
    let url = required(
        contract::DATABASE_URL,
        "the auth database URL, e.g. postgres://auth@127.0.0.1:54321/auth",
    )?;
    let ca = stackr_tls::TrustedCa::from_lookup(&var)?;
    let (mut cfg, tls) =
        stackr_tls::postgres::config(&url, ca.as_ref()).context(contract::DATABASE_URL)?;
    match var(contract::DATABASE_PASSWORD_FILE) {
        Some(path) => {
            let pw = read_secret_file(Path::new(&path), contract::DATABASE_PASSWORD_FILE)?;
            cfg.password(pw.expose());
        }
        None if cfg.get_password().is_none() => {
            tracing::warn!("DATABASE_PASSWORD_FILE is not set and DATABASE_URL has no password; connecting without one");
        }
        None => {}
    }
    if cfg.get_connect_timeout().is_none() {
        cfg.connect_timeout(Duration::from_secs(5));
    }
    Ok((cfg, tls))
}

const MIN_SECRET_CHARS: usize = 32;

/// `AUTH_SECRET_FILE` (one unversioned secret) and/or `AUTH_SECRETS_FILE` (`<version>:<secret>`
/// per line, the highest version signing; see `crate::secrets`). At least one is required.
fn secrets_from_env() -> anyhow::Result<crate::secrets::Secrets> {
    let unversioned = match var(contract::AUTH_SECRET_FILE) {
        Some(path) => {
            let secret = read_secret_file(Path::new(&path), contract::AUTH_SECRET_FILE)?;
            if secret.expose().len() < MIN_SECRET_CHARS {
                bail!(
                    "the auth secret in AUTH_SECRET_FILE ({path}) is shorter than {MIN_SECRET_CHARS} characters; generate a longer one"
                );
            }
            Some(secret)
        }
        None => None,
    };
    let versioned = match var("AUTH_SECRETS_FILE") {
        Some(path) => {
            let list = read_secret_file(Path::new(&path), "AUTH_SECRETS_FILE")?;
            parse_versioned_secrets(list.expose())
                .map_err(|e| anyhow!("AUTH_SECRETS_FILE ({path}): {e}"))?
        }
        None => Vec::new(),
    };
    if unversioned.is_none() && versioned.is_empty() {
        required(
            contract::AUTH_SECRET_FILE,
            "the path of a file with the auth secret (at least 32 characters), or set AUTH_SECRETS_FILE",
        )?;
    }
    crate::secrets::Secrets::new(unversioned, versioned)
}

/// Lines of `<version>:<secret>`; blank lines and `#` comments are skipped. Error messages name
/// the line, never the secret.
fn parse_versioned_secrets(bytes: &[u8]) -> Result<Vec<(u32, Secret)>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_owned())?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let n = i + 1;
        let (version, secret) = line
            .split_once(':')
            .ok_or_else(|| format!("line {n} is not `<version>:<secret>`"))?;
        let version: u32 = version
            .trim()
            .parse()
            .map_err(|_| format!("line {n}: the version must be a non-negative integer"))?;
        let secret = secret.trim();
        if secret.len() < MIN_SECRET_CHARS {
            return Err(format!(
                "line {n}: the secret of version {version} is shorter than {MIN_SECRET_CHARS} characters"
            ));
        }
        out.push((version, Secret::new(secret)));
    }
    Ok(out)
}

/// `AUTH_PROVISION_SERVICES` + one `<svc>-credential` file per service in
/// `AUTH_SERVICE_CREDENTIALS_DIR`.
fn provision_services_from_env() -> anyhow::Result<BTreeMap<String, Secret>> {
    let mut services = BTreeMap::new();
    let Some(list) = var(contract::AUTH_PROVISION_SERVICES) else {
        return Ok(services);
    };
    let names: Vec<String> = comma_list(&list).map(str::to_owned).collect();
    if names.is_empty() {
        return Ok(services);
    }
    let dir = required(
        contract::AUTH_SERVICE_CREDENTIALS_DIR,
        "the folder holding <service>-credential files for the services in AUTH_PROVISION_SERVICES",
    )?;
    for name in names {
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            bail!("AUTH_PROVISION_SERVICES contains an invalid service name {name:?}");
        }
        let path = Path::new(&dir).join(format!("{name}-credential"));
        let secret = read_secret_file(&path, contract::AUTH_SERVICE_CREDENTIALS_DIR)?;
        services.insert(name, secret);
    }
    Ok(services)
}

/// `AUTH_TRUSTED_PROXIES`: comma list of addresses or CIDR blocks. The old all-or-nothing switch
/// is refused rather than ignored, so a deployment relying on it notices.
fn trusted_proxies_from_env() -> anyhow::Result<Vec<crate::client_ip::IpNet>> {
    if var("AUTH_TRUST_FORWARDED_FOR").is_some() {
        bail!("AUTH_TRUST_FORWARDED_FOR is no longer supported: list the addresses of your reverse proxies in AUTH_TRUSTED_PROXIES instead (comma-separated addresses or CIDR blocks)");
    }
    comma_list(&var(contract::AUTH_TRUSTED_PROXIES).unwrap_or_default())
        .map(|s| {
            s.parse()
                .map_err(|e| anyhow!("{}: {e}", contract::AUTH_TRUSTED_PROXIES))
        })
        .collect()
}

/// `AUTH_ROLES`: the roles the stack declares (also read by the `set-role` command).
pub fn roles_from_env() -> anyhow::Result<crate::roles::Roles> {
    crate::roles::Roles::parse(&var(contract::AUTH_ROLES).unwrap_or_default())
        .map_err(anyhow::Error::msg)
}

fn mail_from_env() -> anyhow::Result<MailConfig> {
    if let Some(url) = var(contract::AUTH_SMTP_URL) {
        let password = match var(contract::AUTH_SMTP_PASSWORD_FILE) {
            Some(p) => Some(read_secret_file(
                Path::new(&p),
                contract::AUTH_SMTP_PASSWORD_FILE,
            )?),
            None => None,
        };
        return Ok(MailConfig::Smtp { url, password });
    }
    if let Some(dir) = var(contract::AUTH_MAIL_DIR) {
        return Ok(MailConfig::Mailbox(PathBuf::from(dir)));
    }
    Ok(MailConfig::Disabled)
}

impl AuthConfig {
    /// Reads the whole configuration; errors name the variable to fix.
    pub fn from_env() -> anyhow::Result<Self> {
        let base_url_raw = required(
            contract::AUTH_BASE_URL,
            "the public URL of the auth service, e.g. http://localhost:8888",
        )?;
        let base_url = url::Url::parse(&base_url_raw)
            .with_context(|| format!("AUTH_BASE_URL={base_url_raw} is not a URL"))?;
        let port = match var(contract::PORT) {
            Some(p) => parse_port(contract::PORT, &p)?,
            None => 8888,
        };
        let listen_address = contract::listen_address(var(contract::LISTEN_ADDRESS).as_deref())
            .map_err(|why| anyhow::anyhow!("LISTEN_ADDRESS: {why}"))?;
        let admin_port = match var(contract::AUTH_ADMIN_PORT) {
            Some(p) => Some(parse_port(contract::AUTH_ADMIN_PORT, &p)?),
            None => None,
        };
        let admin_bind = match var(contract::AUTH_ADMIN_BIND) {
            Some(a) => a.parse().with_context(|| {
                format!("AUTH_ADMIN_BIND={a} is not an IP address (e.g. 127.0.0.1 or 10.0.0.5)")
            })?,
            None => LOOPBACK,
        };
        let admin_hosts = admin_hosts(var(contract::AUTH_ADMIN_HOSTS).as_deref().unwrap_or(""))?;
        let trusted_origins = comma_list(&var(contract::AUTH_TRUSTED_ORIGINS).unwrap_or_default())
            .map(|o| o.trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        let pool_size = match var("AUTH_DB_POOL_SIZE") {
            Some(n) => n
                .parse()
                .with_context(|| format!("AUTH_DB_POOL_SIZE={n} is not a number"))?,
            None => 16,
        };
        let session_cache_ttl = match var("AUTH_SESSION_CACHE_MS") {
            Some(ms) => Duration::from_millis(ms.parse().with_context(|| {
                format!("AUTH_SESSION_CACHE_MS={ms} is not a number of milliseconds")
            })?),
            None => Duration::from_millis(1000),
        };
        // Secrets first, then the database: a half-configured auth names its secret first.
        let secrets = secrets_from_env()?;
        let (database, database_tls) = database_from_env()?;
        Ok(AuthConfig {
            secrets,
            database,
            database_tls,
            https: crate::tls::https_from_env(&var)?,
            port,
            listen_address,
            admin_port,
            admin_bind,
            admin_hosts,
            base_url,
            trusted_origins,
            provision_services: provision_services_from_env()?,
            mail: mail_from_env()?,
            mail_from: var("AUTH_MAIL_FROM")
                .unwrap_or_else(|| "stackr <no-reply@localhost>".into()),
            rate_limits: parse_bool("AUTH_RATE_LIMITS", true)?,
            trusted_proxies: trusted_proxies_from_env()?,
            require_email_verification: parse_bool("AUTH_REQUIRE_EMAIL_VERIFICATION", false)?,
            session: SessionSettings::default(),
            pool_size,
            session_cache_ttl,
            roles: roles_from_env()?,
            user_fields: match var(contract::AUTH_USER_FIELDS) {
                Some(json) => crate::user_fields::parse(&json)?,
                None => Vec::new(),
            },
            oauth_providers: match var(contract::AUTH_OAUTH_PROVIDERS_FILE) {
                Some(path) => crate::oauth::providers::load(Path::new(&path))?,
                None => Vec::new(),
            },
        })
    }

    /// A configuration for tests and embedding: everything explicit, nothing from the environment.
    pub fn new(secret: Secret, database: tokio_postgres::Config, base_url: url::Url) -> Self {
        AuthConfig {
            secrets: crate::secrets::Secrets::single(secret),
            database,
            database_tls: stackr_tls::postgres::PostgresTls::plain(),
            https: None,
            port: 0,
            listen_address: std::net::Ipv4Addr::UNSPECIFIED.into(),
            admin_port: None,
            admin_bind: LOOPBACK,
            admin_hosts: Vec::new(),
            base_url,
            trusted_origins: Vec::new(),
            provision_services: BTreeMap::new(),
            mail: MailConfig::Disabled,
            mail_from: "stackr <no-reply@localhost>".into(),
            rate_limits: true,
            trusted_proxies: Vec::new(),
            require_email_verification: false,
            session: SessionSettings::default(),
            pool_size: 16,
            session_cache_ttl: Duration::from_millis(1000),
            roles: crate::roles::Roles::default(),
            user_fields: Vec::new(),
            oauth_providers: Vec::new(),
        }
    }

    /// Cookies get `__Secure-` and `Secure` when the service is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.scheme() == "https"
    }

    /// Base URL without trailing slash, e.g. `http://localhost:8888`.
    pub fn base(&self) -> String {
        self.base_url.as_str().trim_end_matches('/').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_secrets_file() {
        let parsed = parse_versioned_secrets(
            b"# rotated 2026-12\n1:first-secret-first-secret-first-secret\n\n2: second-secret-second-secret-second-secret\n",
        )
        .unwrap();
        let versions: Vec<u32> = parsed.iter().map(|(v, _)| *v).collect();
        assert_eq!(versions, [1, 2]);
        assert_eq!(
            parsed[1].1.expose(),
            b"second-secret-second-secret-second-secret"
        );
        let err = parse_versioned_secrets(b"1:tiny-xyz").unwrap_err();
        assert!(err.contains("line 1") && !err.contains("tiny-xyz"), "{err}");
        assert!(parse_versioned_secrets(b"x:first-secret-first-secret-first-secret").is_err());
        assert!(parse_versioned_secrets(b"no separator").is_err());
    }
}
