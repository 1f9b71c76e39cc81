use stackr_contract::env as contract;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use stackr_tls::TrustedCa;

use url::Url;

use super::secret_url::read_secret_file;
use super::{optional, process_env, required, ConfigError, SecretUrl};

/// `SESSION_CACHE_TTL_MS` when unset: short enough that a signed-out session stops working within
/// a few seconds, long enough that a page firing a burst of API calls pays one auth round trip.
pub const DEFAULT_SESSION_CACHE_TTL: Duration = Duration::from_millis(3000);

/// What every process of a service (API and worker) needs: its name, its own database and its own
/// Redis. A service's environment holds only its own URLs; there is no way to name another's.
#[derive(Clone, Debug)]
pub struct ServiceEnv {
    pub service: String,
    pub database_url: SecretUrl,
    pub redis_url: SecretUrl,
    /// `TLS_CA_FILE`: the deployment CA that TLS to the database and Redis on other hosts is
    /// verified against (`sslmode=verify-full`, `rediss://`); unset on one host.
    pub tls_ca: Option<TrustedCa>,
    /// `DATABASE_POOL_SIZE`: connections the process's PostgreSQL pool opens at most
    /// ([`crate::db::DEFAULT_POOL_SIZE`] when unset).
    pub db_pool_size: usize,
}

impl ServiceEnv {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&process_env)
    }

    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let service = required(lookup, contract::STACKR_SERVICE)?;
        if !is_service_name(&service) {
            return Err(ConfigError::Invalid {
                var: contract::STACKR_SERVICE,
                reason: format!(
                    "`{service}` is not a stackr service name (lowercase [a-z][a-z0-9-]*)"
                ),
            });
        }
        let database_url = SecretUrl::from_url_and_password_file(
            contract::DATABASE_URL,
            &required(lookup, contract::DATABASE_URL)?,
            contract::DATABASE_PASSWORD_FILE,
            optional(lookup, contract::DATABASE_PASSWORD_FILE).as_deref(),
        )?;
        let redis_url = SecretUrl::from_url_and_password_file(
            contract::REDIS_URL,
            &required(lookup, contract::REDIS_URL)?,
            contract::REDIS_PASSWORD_FILE,
            optional(lookup, contract::REDIS_PASSWORD_FILE).as_deref(),
        )?;
        Ok(ServiceEnv {
            service,
            database_url,
            redis_url,
            tls_ca: tls_ca_from_lookup(lookup)?,
            db_pool_size: db_pool_size_from_lookup(lookup)?,
        })
    }
}

/// `DATABASE_POOL_SIZE`: a whole number of connections, at least 1.
fn db_pool_size_from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<usize, ConfigError> {
    let Some(raw) = optional(lookup, contract::DATABASE_POOL_SIZE) else {
        return Ok(crate::db::DEFAULT_POOL_SIZE);
    };
    raw.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ConfigError::Invalid {
            var: contract::DATABASE_POOL_SIZE,
            reason: format!("`{raw}` is not a number of connections (at least 1)"),
        })
}

/// The API process: [`ServiceEnv`] plus the address and port it listens on.
#[derive(Clone, Debug)]
pub struct ApiEnv {
    pub service: ServiceEnv,
    pub port: u16,
    /// `LISTEN_ADDRESS`; every interface when unset.
    pub listen_address: std::net::IpAddr,
}

impl ApiEnv {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&process_env)
    }

    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let service = ServiceEnv::from_lookup(lookup)?;
        let raw = required(lookup, contract::PORT)?;
        let port =
            raw.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| ConfigError::Invalid {
                    var: contract::PORT,
                    reason: format!("`{raw}` is not a TCP port (1-65535)"),
                })?;
        let listen_address =
            contract::listen_address(optional(lookup, contract::LISTEN_ADDRESS).as_deref())
                .map_err(|reason| ConfigError::Invalid {
                    var: contract::LISTEN_ADDRESS,
                    reason,
                })?;
        Ok(ApiEnv {
            service,
            port,
            listen_address,
        })
    }
}

/// How a base service reaches auth. Not read for flavor `none`.
#[derive(Clone, Debug)]
pub struct AuthEnv {
    /// `AUTH_URL`, e.g. `http://127.0.0.1:8888` (no trailing `/api/auth`).
    pub auth_url: Url,
    /// Contents of `SERVICE_CREDENTIAL_FILE`; required when the service provisions (flexible).
    pub credential: Option<Credential>,
    /// `SESSION_CACHE_TTL_MS`; zero disables the verified-session cache.
    pub session_cache_ttl: Duration,
    /// `TRUSTED_ORIGINS`: comma list of browser origins (and `*` patterns) allowed to make
    /// cookie-authenticated state changes; empty when unset (all such requests refused).
    pub trusted_origins: Vec<String>,
}

impl AuthEnv {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&process_env)
    }

    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let auth_url = auth_url(&required(lookup, contract::AUTH_URL)?)?;
        let credential = match optional(lookup, contract::SERVICE_CREDENTIAL_FILE) {
            Some(path) => Some(Credential(read_secret_file(
                contract::SERVICE_CREDENTIAL_FILE,
                Path::new(&path),
            )?)),
            None => None,
        };
        let session_cache_ttl = match optional(lookup, contract::SESSION_CACHE_TTL_MS) {
            None => DEFAULT_SESSION_CACHE_TTL,
            Some(raw) => {
                Duration::from_millis(raw.parse::<u64>().map_err(|_| ConfigError::Invalid {
                    var: contract::SESSION_CACHE_TTL_MS,
                    reason: format!(
                        "`{raw}` is not a number of milliseconds (0 disables the cache)"
                    ),
                })?)
            }
        };
        let trusted_origins = optional(lookup, contract::TRUSTED_ORIGINS)
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(AuthEnv {
            auth_url,
            credential,
            session_cache_ttl,
            trusted_origins,
        })
    }
}

/// `AUTH_URL`: auth's address alone (a path prefix allowed), as the auth client joins
/// `/api/auth/...` after it. A user part would reach auth as a Basic `Authorization` header on
/// every request, so it is refused; a value holding an `@`, a query or a fragment is never
/// repeated in an error.
fn auth_url(raw: &str) -> Result<Url, ConfigError> {
    let refuse = |reason: String| ConfigError::Invalid {
        var: contract::AUTH_URL,
        reason: format!("{reason}; give auth's address alone, such as http://127.0.0.1:8888"),
    };
    let shown = if raw.contains('@') {
        "the value (not repeated: it holds an `@`)".to_owned()
    } else {
        format!("`{raw}`")
    };
    let url = Url::parse(raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| refuse(format!("{shown} is not an http(s) URL")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse(
            "it holds a user or password, which would be sent to auth with every request".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refuse(
            "it has a query or fragment (not repeated), which the `/api/auth/...` paths would follow"
                .into(),
        ));
    }
    Ok(url)
}

/// A service's credential towards auth. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential(pub(crate) String);

impl Credential {
    pub fn new(value: impl Into<String>) -> Self {
        Credential(value.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(***)")
    }
}

/// `TLS_CA_FILE`, read and checked now, so a wrong path is reported before any connection.
pub(crate) fn tls_ca_from_lookup(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<TrustedCa>, ConfigError> {
    TrustedCa::from_lookup(lookup).map_err(|e| ConfigError::Invalid {
        var: contract::TLS_CA_FILE,
        reason: e.to_string(),
    })
}

fn is_service_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn each_missing_variable_is_named() {
        let full = [
            ("STACKR_SERVICE", "core"),
            ("DATABASE_URL", "postgres://core:pw@127.0.0.1:1/core"),
            ("REDIS_URL", "redis://:pw@127.0.0.1:2"),
            ("PORT", "8080"),
        ];
        ApiEnv::from_lookup(&lookup(&full)).unwrap();
        for skip in 0..full.len() {
            let partial: Vec<_> = full
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, p)| *p)
                .collect();
            let err = ApiEnv::from_lookup(&lookup(&partial)).unwrap_err();
            assert!(err.to_string().contains(full[skip].0), "{err}");
        }
    }

    #[test]
    fn auth_env_defaults_and_errors() {
        let env = AuthEnv::from_lookup(&lookup(&[("AUTH_URL", "http://127.0.0.1:8888")])).unwrap();
        assert_eq!(env.session_cache_ttl, DEFAULT_SESSION_CACHE_TTL);
        assert!(env.credential.is_none());
        let off = AuthEnv::from_lookup(&lookup(&[
            ("AUTH_URL", "http://a:1"),
            ("SESSION_CACHE_TTL_MS", "0"),
        ]))
        .unwrap();
        assert_eq!(off.session_cache_ttl, Duration::ZERO);
        let err = AuthEnv::from_lookup(&lookup(&[
            ("AUTH_URL", "http://a:1"),
            ("SESSION_CACHE_TTL_MS", "soon"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("SESSION_CACHE_TTL_MS"));
        let err = AuthEnv::from_lookup(&lookup(&[("AUTH_URL", "127.0.0.1:8888")])).unwrap_err();
        assert!(err.to_string().contains("AUTH_URL"));
        let err = AuthEnv::from_lookup(&lookup(&[])).unwrap_err();
        assert!(err.to_string().contains("AUTH_URL"));
    }

    /// `AUTH_URL` is auth's address alone: a user part would go to auth as a Basic
    /// `Authorization` header with every request, and a query or fragment would swallow the
    /// `/api/auth/...` path joined after it. Refused, and a value that may hold a password is
    /// never repeated in the error (it is printed at start-up).
    #[test]
    fn auth_url_is_an_address_alone_and_errors_never_repeat_a_password() {
        for (raw, names) in [
            ("http://core:hunter2@127.0.0.1:8888", "user or password"),
            ("https://:hunter2@auth.example.com", "user or password"),
            ("http://127.0.0.1:8888/?x=hunter2", "query or fragment"),
            ("http://127.0.0.1:8888/#hunter2", "query or fragment"),
            ("htp://core:hunter2@127.0.0.1:8888", "http(s) URL"),
            ("core:hunter2@127.0.0.1:8888", "http(s) URL"),
        ] {
            let err = AuthEnv::from_lookup(&lookup(&[("AUTH_URL", raw)]))
                .expect_err(raw)
                .to_string();
            assert!(
                err.contains("AUTH_URL") && err.contains(names),
                "{raw}: {err}"
            );
            assert!(!err.contains("hunter2"), "{raw}: {err}");
        }
        for raw in [
            "http://127.0.0.1:8888",
            "https://auth.example.com/",
            "http://a:1/prefix",
        ] {
            AuthEnv::from_lookup(&lookup(&[("AUTH_URL", raw)])).expect(raw);
        }
    }

    #[test]
    fn credential_is_read_from_file_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("core-credential");
        std::fs::write(&file, "topsecret\n").unwrap();
        let env = AuthEnv::from_lookup(&lookup(&[
            ("AUTH_URL", "http://a:1"),
            ("SERVICE_CREDENTIAL_FILE", file.to_str().unwrap()),
        ]))
        .unwrap();
        assert_eq!(env.credential.as_ref().unwrap().expose(), "topsecret");
        assert!(!format!("{env:?}").contains("topsecret"));
    }

    #[test]
    fn pool_size_defaults_and_refuses_what_is_not_a_size() {
        let base = [
            ("STACKR_SERVICE", "core"),
            ("DATABASE_URL", "postgres://core:pw@127.0.0.1:1/core"),
            ("REDIS_URL", "redis://:pw@127.0.0.1:2"),
        ];
        let with = |size: &str| {
            let mut pairs = base.to_vec();
            pairs.push(("DATABASE_POOL_SIZE", size));
            ServiceEnv::from_lookup(&lookup(&pairs))
        };
        let unset = ServiceEnv::from_lookup(&lookup(&base)).unwrap();
        assert_eq!(unset.db_pool_size, crate::db::DEFAULT_POOL_SIZE);
        assert_eq!(with("3").unwrap().db_pool_size, 3);
        for bad in ["0", "-1", "four"] {
            let err = with(bad).unwrap_err().to_string();
            assert!(err.contains("DATABASE_POOL_SIZE"), "{bad}: {err}");
        }
    }

    #[test]
    fn service_name_is_validated() {
        let err = ServiceEnv::from_lookup(&lookup(&[("STACKR_SERVICE", "Core")])).unwrap_err();
        assert!(err.to_string().contains("STACKR_SERVICE"));
    }
}
