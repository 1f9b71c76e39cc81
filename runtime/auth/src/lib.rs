//! # stackr-auth — the trust anchor of a stackr stack
//!
//! An auth service that speaks BetterAuth 1.7's wire protocol (routes under `/api/auth`, JSON
//! shapes, `{message, code}` errors, the signed `better-auth.session_token` cookie), so
//! BetterAuth's own JS client works against it unchanged and base services authenticate a request
//! by forwarding its cookie to `GET /api/auth/get-session`.
//!
//! ## Embedding (what the generated `services/auth` main calls)
//!
//! ```no_run
//! #[tokio::main]
//! async fn main() -> anyhow::Result<()> {
//!     stackr_auth::cli::main().await
//! }
//! ```
//!
//! It serves, or with `set-role EMAIL ROLE` gives a user a role (see [`cli`]).
//!
//! Or build the router yourself: `AuthConfig::from_env()` → `AppState::connect(config)` →
//! `router(state)`.
//!
//! ## Environment (docs/runtime-contract.md)
//!
//! Required: `AUTH_SECRET_FILE` (or the versioned `AUTH_SECRETS_FILE`, see [`secrets`]),
//! `DATABASE_URL`, `AUTH_BASE_URL`. Optional: `PORT` (8888),
//! `DATABASE_PASSWORD_FILE`, `AUTH_TRUSTED_ORIGINS`, `AUTH_ADMIN_PORT` with `AUTH_ADMIN_BIND`, `AUTH_ROLES` (see [`roles`]), `AUTH_PROVISION_SERVICES`
//! with `AUTH_SERVICE_CREDENTIALS_DIR`, `AUTH_MAIL_DIR`, `AUTH_SMTP_URL` with
//! `AUTH_SMTP_PASSWORD_FILE`, `AUTH_MAIL_FROM`, `AUTH_USER_FIELDS` (see [`user_fields`]); stackr-auth specific: `AUTH_RATE_LIMITS` (`on`/`off`, default on),
//! `AUTH_TRUSTED_PROXIES` (default none), `AUTH_REQUIRE_EMAIL_VERIFICATION` (default off),
//! `AUTH_DB_POOL_SIZE` (16), `AUTH_SESSION_CACHE_MS` (1000; see [`session_cache`]).
//!
//! ## Database
//!
//! See [`db`] for the driver choice (tokio-postgres + deadpool). The schema is BetterAuth's own,
//! so a database created by BetterAuth can be adopted as is; passwords hashed by BetterAuth
//! (scrypt) are verified and upgraded to argon2id on the next sign-in.

pub mod account_throttle;
pub mod admin_actions;
pub mod admin_page;
pub mod after_the_answer;
pub mod bearer;
pub mod body;
pub mod cli;
pub mod client_ip;
pub mod config;
pub mod cookie;
pub mod crypto;
pub mod current_session;
pub mod db;
pub mod error;
pub mod error_codes;
pub mod housekeeping;
pub mod ids;
pub mod json;
pub mod jwt;
pub mod known_device;
pub mod mail;
pub mod mail_budget;
pub mod nul_in_url;
pub mod oauth;
pub mod origin;
pub mod password;
pub mod permissions;
pub mod phase_timings;
pub mod pruned_map;
pub mod rate_limit;
pub mod respond;
pub mod routes;
pub mod secrets;
pub mod server;
pub mod session_cache;
pub mod state;
pub mod tls;
pub mod totp;
pub mod user_fields;

pub use config::AuthConfig;
pub use routes::router;
pub use server::{run, run_from_env, serve};
pub use state::AppState;

/// The roles an admin may give, in the contract: `stackr set-role` checks a role before it builds
/// this crate.
pub use stackr_contract::roles;

/// The process's logs, as every runtime process of a stack writes them
/// ([`stackr_contract::telemetry`]).
pub use stackr_contract::telemetry::init as init_tracing;
