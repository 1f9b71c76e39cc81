//! The dev PostgreSQL and Redis listen on 127.0.0.1 alone, and `stackr dev` keeps the other
//! loopback address of their ports, `[::1]`, for as long as the stack runs: `localhost` names
//! both, and many clients (libpq, redis-cli, GUI database tools) try `::1` first, so another local
//! user listening there would be sent what the developer's tools address to `localhost:PORT`, a
//! role's password included (libpq sends it in clear to a server that asks so).

use std::net::TcpListener;

use crate::common::dev_servers::{core_ports, postgres_ready, DevServers};
use crate::common::{init_project_on_free_ports, installed};

#[test]
fn the_other_loopback_address_of_the_server_ports_is_the_stacks() {
    if !["psql", "pg_isready", "redis-server", "redis-cli"]
        .iter()
        .all(|t| installed(t))
    {
        eprintln!("skipped: needs PostgreSQL and Redis");
        return;
    }
    if TcpListener::bind(("::1", 0)).is_err() {
        eprintln!("skipped: no IPv6 loopback here, so no other address to take");
        return;
    }
    let (_parent, root) = init_project_on_free_ports(&[]);
    let mut dev = DevServers::start(
        &root,
        &["secrets", "core-db-init", "core-postgres", "core-redis"],
        None,
    );
    dev.wait_until("core's PostgreSQL ready", || postgres_ready(&root));
    let (postgres, redis) = core_ports(&root);
    for (what, port) in [("PostgreSQL", postgres), ("Redis", redis)] {
        assert!(
            TcpListener::bind(("::1", port)).is_err(),
            "[::1]:{port}, the other address of core's {what}, was free for another program"
        );
    }
}
