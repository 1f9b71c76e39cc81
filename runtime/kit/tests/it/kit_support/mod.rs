//! A real stack for the guard's behavioural tests: one throwaway PostgreSQL (auth's database and
//! the service's own, with its own role), one Redis, the real stackr-auth served in-process, and
//! a base service wired by `ServiceRuntime::from_lookup` exactly as a scaffolded service is.

pub mod auth_server;
pub mod browser;
pub mod counting_proxy;
pub mod dashboard;
pub mod peer_server;
pub mod revocations;
pub mod service;

pub use auth_server::AuthServer;
pub use browser::{Browser, SignedIn};
pub use counting_proxy::{Answer, CountingProxy};
pub use dashboard::Dashboard;
pub use service::{credential_of, Stack, StackOptions};

/// A little more than the kit waits without a failure before it logs a failing dependency back
/// (auth, another service, a store): tests of that line wait this long after the last failure.
pub const OUTAGE_QUIET: std::time::Duration =
    stackr_tls::outage::QUIET_BEFORE_BACK.saturating_add(std::time::Duration::from_secs(1));
