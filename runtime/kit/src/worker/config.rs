//! Worker and producer configuration read from the environment (docs/runtime-contract.md).
//!
//! Every reader takes a lookup function instead of touching `std::env` directly, so the rules can
//! be unit-tested without mutating the process environment (tests run in parallel threads).

use stackr_contract::env as contract;
use std::time::Duration;

use super::error::ConfigError;
use crate::config::{read_secret_file, SecretUrl};
use std::path::Path;

/// Where a service's queue lives: its own Redis, the queue name and the key prefix.
#[derive(Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// Redis URL with the password (from `REDIS_PASSWORD_FILE`) already merged in.
    pub redis_url: String,
    /// BullMQ queue name (`STACKR_QUEUE`).
    pub queue: String,
    /// BullMQ key prefix (`STACKR_QUEUE_PREFIX`); keys are `<prefix>:<queue>:…`.
    pub prefix: String,
    /// `TLS_CA_FILE`: what a `rediss://` URL's server is verified against.
    pub tls_ca: Option<stackr_tls::TrustedCa>,
}

// Hand-written so a password merged into the URL never reaches a log line.
impl std::fmt::Debug for QueueConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueConfig")
            .field("redis_url", &redact_password(&self.redis_url))
            .field("queue", &self.queue)
            .field("prefix", &self.prefix)
            .field("tls_ca", &self.tls_ca)
            .finish()
    }
}

/// Everything the worker process needs besides its handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    pub queue: QueueConfig,
    /// Jobs processed at the same time (`WORKER_CONCURRENCY`, default 10).
    pub concurrency: usize,
    /// Name recorded as `processedBy` on jobs and in the Redis client name (`<service>-worker`).
    pub name: Option<String>,
    /// How long a job's lock lives without renewal (`WORKER_LOCK_DURATION_MS`, default 30 000).
    /// Renewed every half of it while the handler runs.
    pub lock_duration: Duration,
    /// How often the stalled-job check runs (`WORKER_STALLED_INTERVAL_MS`, default 30 000).
    pub stalled_interval: Duration,
    /// How often a job may stall before it is failed (`WORKER_MAX_STALLED_COUNT`, default 1).
    pub max_stalled_count: u32,
    /// On SIGTERM/ctrl-c, in-flight jobs get this long to finish before they are handed back to
    /// the queue, or left to finish their [`Job::blocking`](super::Job::blocking) work
    /// (`WORKER_SHUTDOWN_GRACE_MS`, default 10 000).
    pub shutdown_grace: Duration,
}

pub const DEFAULT_PREFIX: &str = "bull";
pub const DEFAULT_CONCURRENCY: usize = 10;
const DEFAULT_LOCK_DURATION_MS: u64 = 30_000;
const DEFAULT_STALLED_INTERVAL_MS: u64 = 30_000;
const DEFAULT_MAX_STALLED_COUNT: u32 = 1;
const DEFAULT_SHUTDOWN_GRACE_MS: u64 = 10_000;
/// The longest lock duration or stalled interval: BullMQ's scripts take it as a Lua number, which
/// holds whole numbers exactly up to 2^53 - 1 (Node's `Number.MAX_SAFE_INTEGER`); far above it
/// (1e17) the scripts hand Redis's `PX` a number in exponent form, which it refuses.
const MAX_MILLIS: u64 = (1 << 53) - 1;

impl QueueConfig {
    /// Reads `REDIS_URL`, `REDIS_PASSWORD_FILE`, `STACKR_QUEUE`, `STACKR_QUEUE_PREFIX` and
    /// `TLS_CA_FILE`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let redis_url = required(env, contract::REDIS_URL)?;
        let redis_url =
            merge_password_file(&redis_url, non_empty(env, contract::REDIS_PASSWORD_FILE))?;
        let queue = required(env, contract::STACKR_QUEUE)?;
        let prefix =
            non_empty(env, contract::STACKR_QUEUE_PREFIX).unwrap_or_else(|| DEFAULT_PREFIX.into());
        // BullMQ joins keys with ':' and parses them back, so neither part may contain one.
        for (var, value) in [
            (contract::STACKR_QUEUE, &queue),
            (contract::STACKR_QUEUE_PREFIX, &prefix),
        ] {
            if value.contains(':') || value.trim() != value.as_str() {
                return Err(ConfigError::invalid(
                    var,
                    value,
                    "must not contain ':' or surrounding whitespace (BullMQ keys are <prefix>:<queue>:…)",
                ));
            }
        }
        let tls_ca =
            stackr_tls::TrustedCa::from_lookup(env).map_err(|e| ConfigError::PasswordFile {
                var: contract::TLS_CA_FILE,
                path: non_empty(env, contract::TLS_CA_FILE).unwrap_or_default(),
                reason: e.to_string(),
            })?;
        Ok(QueueConfig {
            redis_url,
            queue,
            prefix,
            tls_ca,
        })
    }
}

impl WorkerConfig {
    /// Reads the queue settings plus `WORKER_CONCURRENCY`, `STACKR_SERVICE` and the optional
    /// `WORKER_*` tuning variables.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let queue = QueueConfig::from_lookup(env)?;
        let concurrency = positive(
            env,
            contract::WORKER_CONCURRENCY,
            DEFAULT_CONCURRENCY as u64,
        )? as usize;
        let lock_duration = millis(env, "WORKER_LOCK_DURATION_MS", DEFAULT_LOCK_DURATION_MS)?;
        let stalled_interval = millis(
            env,
            "WORKER_STALLED_INTERVAL_MS",
            DEFAULT_STALLED_INTERVAL_MS,
        )?;
        let max_stalled_count = number(
            env,
            "WORKER_MAX_STALLED_COUNT",
            u64::from(DEFAULT_MAX_STALLED_COUNT),
        )?;
        // Refused rather than cut to 32 bits, where 2^32 would tolerate no stall at all.
        let max_stalled_count = u32::try_from(max_stalled_count).map_err(|_| {
            ConfigError::invalid(
                "WORKER_MAX_STALLED_COUNT",
                &max_stalled_count.to_string(),
                format!("must be at most {}", u32::MAX),
            )
        })?;
        let shutdown_grace = match non_empty(env, "WORKER_SHUTDOWN_GRACE_MS") {
            Some(_) => Duration::from_millis(number(env, "WORKER_SHUTDOWN_GRACE_MS", 0)?),
            None => Duration::from_millis(DEFAULT_SHUTDOWN_GRACE_MS),
        };
        let name =
            non_empty(env, contract::STACKR_SERVICE).map(|service| format!("{service}-worker"));
        Ok(WorkerConfig {
            queue,
            concurrency,
            name,
            lock_duration,
            stalled_interval,
            max_stalled_count,
            shutdown_grace,
        })
    }

    /// A config with the defaults for everything but the queue (tests, embedding).
    pub fn with_defaults(queue: QueueConfig) -> Self {
        WorkerConfig {
            queue,
            concurrency: DEFAULT_CONCURRENCY,
            name: None,
            lock_duration: Duration::from_millis(DEFAULT_LOCK_DURATION_MS),
            stalled_interval: Duration::from_millis(DEFAULT_STALLED_INTERVAL_MS),
            max_stalled_count: DEFAULT_MAX_STALLED_COUNT,
            shutdown_grace: Duration::from_millis(DEFAULT_SHUTDOWN_GRACE_MS),
        }
    }
}

fn non_empty(env: &dyn Fn(&str) -> Option<String>, var: &str) -> Option<String> {
    env(var).filter(|value| !value.trim().is_empty())
}

fn required(
    env: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<String, ConfigError> {
    non_empty(env, var).ok_or(ConfigError::Missing { var })
}

fn number(
    env: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match non_empty(env, var) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .map_err(|_| ConfigError::invalid(var, &raw, "must be a whole number")),
    }
}

fn positive(
    env: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    let value = number(env, var, default)?;
    if value == 0 {
        return Err(ConfigError::invalid(var, "0", "must be at least 1"));
    }
    Ok(value)
}

fn millis(
    env: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    let value = positive(env, var, default)?;
    if value > MAX_MILLIS {
        return Err(ConfigError::invalid(
            var,
            &value.to_string(),
            format!("must be at most {MAX_MILLIS} (the largest whole number BullMQ's scripts carry exactly)"),
        ));
    }
    Ok(Duration::from_millis(value))
}

/// Merges the password file into the URL, as the contract requires: the URL carries no password,
/// the file does. A URL that already has one needs no file; given both, the file's wins, as it
/// does for the API's own connection (`SecretUrl::from_url_and_password_file`), so the API's
/// producer and its connection log in alike.
fn merge_password_file(url: &str, password_file: Option<String>) -> Result<String, ConfigError> {
    // The URL may carry a password (allowed without a password file): errors show it hidden.
    let invalid = |expected: std::borrow::Cow<'static, str>| {
        ConfigError::invalid(contract::REDIS_URL, &redact_password(url), expected)
    };
    let mut parsed = SecretUrl::new(url).map_err(|reason| {
        invalid(
            format!(
                "must look like redis://host:port, or redis+unix:PATH for a Unix socket: {reason}"
            )
            .into(),
        )
    })?;
    if !matches!(parsed.scheme(), "redis" | "rediss" | "redis+unix" | "unix") {
        return Err(invalid(
            "scheme must be redis://, rediss:// or, for a Unix socket, redis+unix://".into(),
        ));
    }
    let Some(path) = password_file else {
        return Ok(parsed.expose().to_owned());
    };
    let password =
        read_secret_file(contract::REDIS_PASSWORD_FILE, Path::new(&path)).map_err(|unread| {
            ConfigError::PasswordFile {
                var: contract::REDIS_PASSWORD_FILE,
                path: path.clone(),
                reason: match unread {
                    crate::config::ConfigError::UnreadableFile { source, .. } => source.to_string(),
                    crate::config::ConfigError::EmptyFile { .. } => "the file is empty".into(),
                    other => other.to_string(),
                },
            }
        })?;
    parsed
        .set_password(&password)
        .map_err(|()| invalid("has no host to attach the password to".into()))?;
    Ok(parsed.expose().to_owned())
}

pub(crate) fn redact_password(url: &str) -> String {
    let shown = match (SecretUrl::new(url), url.split_once("://"), url.rfind('@')) {
        (Ok(parsed), _, _) => return parsed.to_string(),
        (Err(_), Some((scheme, _)), Some(at)) => format!("{scheme}://***{}", &url[at..]),
        _ => url.to_string(),
    };
    // Not a URL, so its query is not read pair by pair: all of it is hidden, a password
    // parameter with the rest.
    match shown.split_once('?') {
        Some((before, _)) => format!("{before}?***"),
        None => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn reads_the_pinned_variables_with_defaults() {
        let env = env_of(&[
            ("REDIS_URL", "redis://127.0.0.1:63791"),
            ("STACKR_QUEUE", "core"),
        ]);
        let config = WorkerConfig::from_lookup(&env).unwrap();
        assert_eq!(config.queue.queue, "core");
        assert_eq!(config.queue.prefix, "bull");
        assert_eq!(config.queue.redis_url, "redis://127.0.0.1:63791");
        assert_eq!(config.concurrency, 10);
        assert_eq!(config.name, None);
    }

    #[test]
    fn missing_queue_names_the_variable() {
        let env = env_of(&[("REDIS_URL", "redis://127.0.0.1:1")]);
        let err = WorkerConfig::from_lookup(&env).unwrap_err().to_string();
        assert!(err.contains("STACKR_QUEUE"), "{err}");
    }

    #[test]
    fn bad_concurrency_is_refused_with_the_value() {
        for bad in ["0", "ten", "-3"] {
            let env = env_of(&[
                ("REDIS_URL", "redis://127.0.0.1:1"),
                ("STACKR_QUEUE", "core"),
                ("WORKER_CONCURRENCY", bad),
            ]);
            let err = WorkerConfig::from_lookup(&env).unwrap_err().to_string();
            assert!(
                err.contains("WORKER_CONCURRENCY") && err.contains(bad),
                "{err}"
            );
        }
    }

    #[test]
    fn a_stall_count_past_what_bullmq_holds_is_refused_not_wrapped() {
        // 2^32 would otherwise wrap to 0 stalls tolerated: every job failed at its first stall.
        let too_many = (u64::from(u32::MAX) + 1).to_string();
        let env = env_of(&[
            ("REDIS_URL", "redis://127.0.0.1:1"),
            ("STACKR_QUEUE", "core"),
            ("WORKER_MAX_STALLED_COUNT", &too_many),
        ]);
        let err = WorkerConfig::from_lookup(&env).unwrap_err().to_string();
        assert!(
            err.contains("WORKER_MAX_STALLED_COUNT") && err.contains(&too_many),
            "{err}"
        );
        let most = u32::MAX.to_string();
        let env = env_of(&[
            ("REDIS_URL", "redis://127.0.0.1:1"),
            ("STACKR_QUEUE", "core"),
            ("WORKER_MAX_STALLED_COUNT", &most),
        ]);
        let config = WorkerConfig::from_lookup(&env).unwrap();
        assert_eq!(config.max_stalled_count, u32::MAX);
    }

    /// A lock of 1e17 ms reached BullMQ's scripts as a Lua number printed in exponent form,
    /// which Redis's `PX` refuses: every job was fetched and never completed, with no error.
    #[test]
    fn times_past_what_bullmq_scripts_carry_are_refused() {
        let most = MAX_MILLIS.to_string();
        let past = (MAX_MILLIS + 1).to_string();
        for var in ["WORKER_LOCK_DURATION_MS", "WORKER_STALLED_INTERVAL_MS"] {
            for (value, accepted) in [
                (&most, true),
                (&past, false),
                (&"100000000000000000".to_string(), false),
            ] {
                let env = env_of(&[
                    ("REDIS_URL", "redis://127.0.0.1:1"),
                    ("STACKR_QUEUE", "core"),
                    (var, value),
                ]);
                match WorkerConfig::from_lookup(&env) {
                    Ok(_) => assert!(accepted, "{var}={value} was accepted"),
                    Err(err) => {
                        let err = err.to_string();
                        assert!(!accepted, "{var}={value}: {err}");
                        assert!(err.contains(var) && err.contains(value.as_str()), "{err}");
                    }
                }
            }
        }
    }

    #[test]
    fn queue_names_with_colons_are_refused() {
        let env = env_of(&[
            ("REDIS_URL", "redis://127.0.0.1:1"),
            ("STACKR_QUEUE", "a:b"),
        ]);
        assert!(QueueConfig::from_lookup(&env).is_err());
    }

    /// A password may sit in `REDIS_URL` when no password file is set: a URL refused for its
    /// shape is named in the error with the password hidden.
    #[test]
    fn a_refused_redis_url_is_shown_without_its_password() {
        for url in [
            "http://:hunter2@127.0.0.1:6379",
            "redis://:hunter2@127.0.0.1:99999",
            "http://127.0.0.1:6379/?password=hunter2",
            "redis://127.0.0.1:99999/?password=hunter2",
        ] {
            let env = env_of(&[("REDIS_URL", url), ("STACKR_QUEUE", "core")]);
            let err = QueueConfig::from_lookup(&env).unwrap_err().to_string();
            assert!(
                err.contains("REDIS_URL") && err.contains("***") && !err.contains("hunter2"),
                "{err}"
            );
        }
    }

    #[test]
    fn password_file_is_merged_and_encoded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "p@ss/word\n").unwrap();
        let env = env_of(&[
            ("REDIS_URL", "redis://127.0.0.1:63791/0"),
            ("REDIS_PASSWORD_FILE", file.to_str().unwrap()),
            ("STACKR_QUEUE", "core"),
        ]);
        let config = QueueConfig::from_lookup(&env).unwrap();
        assert_eq!(config.redis_url, "redis://:p%40ss%2Fword@127.0.0.1:63791/0");
        assert!(
            !format!("{config:?}").contains("word"),
            "Debug must not leak the password"
        );
    }

    /// The API process reads `REDIS_URL` twice, for its own connection (`ServiceEnv`) and for
    /// its producer: both must log in with the same password, the file's.
    #[test]
    fn the_password_file_wins_over_the_urls_as_the_apis_own_connection_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "fresh\n").unwrap();
        let env = env_of(&[
            ("STACKR_SERVICE", "core"),
            ("DATABASE_URL", "postgres://core:x@127.0.0.1:1/core"),
            ("REDIS_URL", "redis://:stale@127.0.0.1:63791/0"),
            ("REDIS_PASSWORD_FILE", file.to_str().unwrap()),
            ("STACKR_QUEUE", "core"),
        ]);
        let service = crate::config::ServiceEnv::from_lookup(&env).unwrap();
        let queue = QueueConfig::from_lookup(&env).unwrap();
        assert_eq!(queue.redis_url, service.redis_url.expose());
        assert_eq!(queue.redis_url, "redis://:fresh@127.0.0.1:63791/0");
    }

    #[test]
    fn a_unix_socket_url_gets_the_password_file_too() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "p@ss/word\n").unwrap();
        let env = env_of(&[
            ("REDIS_URL", "redis+unix:///run/redis-core/redis.sock"),
            ("REDIS_PASSWORD_FILE", file.to_str().unwrap()),
            ("STACKR_QUEUE", "core"),
        ]);
        let config = QueueConfig::from_lookup(&env).unwrap();
        assert_eq!(
            config.redis_url,
            "redis+unix:///run/redis-core/redis.sock?pass=p%40ss%2Fword"
        );
        assert!(!format!("{config:?}").contains("word"), "{config:?}");
    }

    /// As the dev stack gives it: relative to the working directory (the project root).
    #[test]
    fn a_relative_unix_socket_url_is_made_absolute() {
        let env = env_of(&[
            ("REDIS_URL", "redis+unix:.stackr/data/core/redis/redis.sock"),
            ("STACKR_QUEUE", "core"),
        ]);
        let config = QueueConfig::from_lookup(&env).unwrap();
        let cwd = url::Url::from_directory_path(std::env::current_dir().unwrap()).unwrap();
        assert_eq!(
            config.redis_url,
            format!(
                "redis+unix://{}.stackr/data/core/redis/redis.sock",
                cwd.path()
            )
        );
    }

    #[test]
    fn unreadable_password_file_names_the_path() {
        let env = env_of(&[
            ("REDIS_URL", "redis://127.0.0.1:1"),
            ("REDIS_PASSWORD_FILE", "/nonexistent/secret"),
            ("STACKR_QUEUE", "core"),
        ]);
        let err = QueueConfig::from_lookup(&env).unwrap_err().to_string();
        assert!(
            err.contains("/nonexistent/secret") && err.contains("REDIS_PASSWORD_FILE"),
            "{err}"
        );
    }

    #[test]
    fn url_with_password_needs_no_file() {
        let env = env_of(&[
            ("REDIS_URL", "redis://:x@127.0.0.1:1"),
            ("STACKR_QUEUE", "core"),
        ]);
        assert_eq!(
            QueueConfig::from_lookup(&env).unwrap().redis_url,
            "redis://:x@127.0.0.1:1"
        );
    }
}
