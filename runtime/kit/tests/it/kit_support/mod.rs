//! A real stack for the guard's behavioural tests: one throwaway PostgreSQL (auth's database and
//! the service's own, with its own role), one Redis, the real stackr-auth served in-process, and
//! a base service wired by `ServiceRuntime::from_lookup` exactly as a scaffolded service is.

pub mod auth_server;
pub mod browser;
pub mod counting_proxy;
pub mod dashboard;
pub mod revocations;
pub mod service;

pub use auth_server::AuthServer;
pub use browser::{Browser, SignedIn};
pub use counting_proxy::{Answer, CountingProxy};
pub use dashboard::Dashboard;
pub use service::{credential_of, Stack, StackOptions};
