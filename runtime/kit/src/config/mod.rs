//! Configuration from the environment, exactly as pinned in docs/runtime-contract.md.
//!
//! Every reader takes a lookup function instead of reading `std::env` directly so tests can feed
//! a map; `from_env()` is the thin wrapper services call. Every error names the variable at fault
//! and says what to do.

mod error;
mod secret_url;
mod service_env;

pub use error::ConfigError;
pub(crate) use secret_url::read_secret_file;
pub use secret_url::SecretUrl;
pub use service_env::{ApiEnv, AuthEnv, Credential, ServiceEnv, DEFAULT_SESSION_CACHE_TTL};

/// Reads a variable through `lookup`, treating an empty value like a missing one (an empty
/// `AUTH_URL=` in an env file is a mistake, not a choice).
pub(crate) fn required(
    lookup: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<String, ConfigError> {
    match lookup(var) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
        _ => Err(ConfigError::Missing { var }),
    }
}

pub(crate) fn optional(lookup: &dyn Fn(&str) -> Option<String>, var: &str) -> Option<String> {
    lookup(var)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The process environment as a lookup function.
pub(crate) fn process_env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}
