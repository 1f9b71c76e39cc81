//! `stackr-checks`: end-to-end checks of a generated stackr stack.
//!
//! Every service's PostgreSQL and Redis run in their own Docker container, started with
//! testcontainers from an image built locally from Debian packages ([`image`]; no registry is
//! reachable). The service processes themselves run on the host. The tests under `tests/` prove
//! the architecture's invariants: cookie-forwarding auth, provisioning, isolation, blast radius.
//! [`systemd`] runs the NixOS deployment's units under a real systemd in a container, [`fleet`]
//! a stack placed on several hosts as one such container per host.
//!
//! Containers carry the label [`containers::OWNER_LABEL`] with the test process's id, and are
//! removed when their handle drops; containers left behind by a killed test run are removed by
//! the next run ([`containers::remove_leftovers`]).

pub mod containers;
pub mod fixture;
pub mod fleet;
pub mod http;
pub mod image;
pub mod scaffold_spec;
pub mod secret;
pub mod stack;
pub mod systemd;
pub mod tls_servers;

pub use containers::{PostgresContainer, RedisContainer, ServiceDatabase};
pub use stack::{Binaries, RunningService, Stack};
