//! TLS of a stackr stack placed on several hosts, with rustls: every connection that leaves a
//! host is verified against the deployment's CA (`stackr secrets` creates it; `TLS_CA_FILE` names
//! its certificate) and the name of the host it goes to. On one host the connections stay plain
//! (loopback, Unix sockets), and a PostgreSQL server there must prove itself by SCRAM instead.
//!
//! - [`TrustedCa`]: the CA file, read once, as rustls roots and as PEM for the clients that
//!   take PEM (Redis, reqwest).
//! - [`postgres`]: `DATABASE_URL` with libpq's `sslmode=verify-full` (and `sslrootcert`), which
//!   tokio-postgres does not parse, to a config and a verifying connector.
//! - [`postgres_host`]: connections that notice a database host that died without closing them.
//! - [`postgres_login`]: plain connections, whose server must prove itself by SCRAM before the
//!   client answers it.
//! - [`server`]: the server side (a certificate and key from secret files), for auth's HTTPS.
//! - [`refusal`]: tells a refused certificate (final) from a server not up yet (worth a retry).
//! - [`outage`]: logs a failing dependency (or refused work) when that starts and ends, not at
//!   every failure; the kit and auth log their failures through it, as through [`refusal`].

mod ca;
mod error;
pub mod outage;
pub mod postgres;
pub mod postgres_host;
pub mod postgres_login;
pub mod postgres_startup;
pub mod refusal;
pub mod server;

pub use ca::TrustedCa;
pub use error::TlsError;

/// The one crypto provider every config here is built with (see Cargo.toml).
pub(crate) fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}
