//! `stackr-kit`: everything a stackr base service needs besides its own domain code.
//!
//! A base service never owns identity. It authenticates a request by forwarding the request's
//! `cookie` header to the auth service (`$AUTH_URL/api/auth/get-session`) and trusting only that
//! answer ([`guard`]). Nothing the client sends (an `x-user-id` header, an id in the body) is ever
//! used as identity. When auth cannot be reached or answers garbage the guard fails closed (503).
//!
//! The pieces, each usable on its own:
//! - [`config`]: the pinned environment of docs/runtime-contract.md, with errors naming the variable;
//! - [`auth`]: the HTTP client for auth's `get-session` and `provision` endpoints, and the user and
//!   session types it yields;
//! - [`guard`]: the four flavors (`standard`, `role-gated`, `flexible`, `none`) as axum extractors
//!   and middleware, with the optional verified-session [`cache`];
//! - [`provision`]: first-call provisioning (own record keyed by `user.id`, then auth is told);
//! - [`device`]: device sessions (`x-device-session-token`) stored in the service's own database;
//! - [`identity_routes`]: `GET /me` for a guard flavor (and flexible's device-session routes);
//! - [`db`], [`migrate`], [`redis_conn`], [`health`], [`server`], [`telemetry`]: plumbing;
//! - [`peer`]: calls to the stack's other base services with the user's cookie forwarded;
//! - [`runtime`]: one call that wires all of the above from the environment for a scaffolded service;
//! - [`worker`]: the BullMQ-compatible worker;
//! - `testing` (feature `testing`): throwaway PostgreSQL and Redis, and a service's binaries run
//!   against them, for a service's own tests.

pub mod auth;
pub mod cache;
pub mod config;
pub mod db;
pub mod device;
pub mod extract;
mod failure;
pub mod guard;
pub mod health;
mod http;
mod identity_routes;
pub mod migrate;
mod nul_in_url;
pub mod peer;
pub mod provision;
pub mod redis_conn;
pub mod runtime;
pub mod server;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod worker;

pub use stackr_contract::{DB_POOL_IDLE_CHECK, DB_POOL_IDLE_LIMIT, STARTUP_WAIT};

pub use auth::{AuthClient, Session, User, VerifiedSession};
pub use config::{ApiEnv, AuthEnv, ConfigError, ServiceEnv};
pub use failure::logged_failure;
pub use guard::{
    require_auth, require_auth_or_device_session, Authenticated, Flavor, Guard, GuardRejection,
    Principal,
};
pub use identity_routes::identity_routes;
pub use migrate::Migration;
pub use runtime::{ServiceRuntime, ServiceSpec, ServiceState};
pub use server::serve;

/// Re-exported so service crates use exactly the kit's versions (`State<Pool>` must be the
/// kit's `Pool` type to extract from [`ServiceState`]).
pub use {deadpool_postgres, redis, tokio_postgres};
