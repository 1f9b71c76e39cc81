//! The end-to-end checks, in one binary: each module is one suite, and scripts/test.sh
//! runs each in its own process.

mod blast_radius;
mod common;
mod containers_work;
mod cookie_forwarding;
mod fleet_under_systemd;
mod isolation;
mod nixos_under_systemd;
mod one_plan;
mod runtime_tls;
mod shared_postgres_under_systemd;
