//! A killed `stackr dev` (`kill -9`, an OOM kill) runs no ordered shutdown: the kernel's
//! parent-death signal is what stops its servers. Left running, they would hold their ports and
//! the next start would refuse.

use crate::common::dev_servers::{
    is_root, postgres_ready, processes, project_owned_by, socket_psql, socket_query, DevServers,
    KillOnDrop,
};
use crate::common::installed;

/// The command line of core's dev PostgreSQL server.
fn core_postgres(root: &std::path::Path) -> String {
    let (port, _) = crate::common::dev_servers::core_ports(root);
    format!("postgres -D .stackr/data/core/postgres -p {port}")
}

/// As root, PostgreSQL runs as the `postgres` user. Changing user clears the parent-death signal
/// the supervisor gives its processes; without it set again, the server would stay running.
#[test]
fn a_killed_stackr_dev_run_as_root_leaves_no_postgres_running() {
    if !is_root() || !installed("setpriv") {
        eprintln!("skipped: needs root and setpriv");
        return;
    }
    let (_parent, root) = project_owned_by(None);
    let server = core_postgres(&root);
    let _leftovers = KillOnDrop(server.clone());
    let mut dev = DevServers::start(&root, &["secrets", "core-db-init", "core-postgres"], None);
    dev.wait_until("core's PostgreSQL running", || {
        !processes(&server).is_empty()
    });
    dev.kill();
    crate::common::dev_servers::wait_until("core's PostgreSQL stopped", || {
        processes(&server).is_empty()
    });
}

/// A client connected makes SIGTERM a shutdown that waits for it to leave ("smart"): the server
/// must get the signal it stops at once on.
#[test]
fn a_killed_stackr_dev_stops_its_postgres_while_a_client_is_connected() {
    if !installed("psql") || !installed("pg_isready") || (is_root() && !installed("setpriv")) {
        eprintln!("skipped: needs psql and pg_isready (and setpriv as root)");
        return;
    }
    let (_parent, root) = project_owned_by(None);
    let server = core_postgres(&root);
    let _leftovers = KillOnDrop(server.clone());
    let mut dev = DevServers::start(&root, &["secrets", "core-db-init", "core-postgres"], None);
    dev.wait_until("core's PostgreSQL ready", || postgres_ready(&root));
    let mut client = socket_psql(&root, None, "SELECT pg_sleep(600)")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    dev.wait_until("the client connected", || {
        let sessions = socket_query(
            &root,
            None,
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)'",
        );
        String::from_utf8_lossy(&sessions.stdout).trim() == "1"
    });
    dev.kill();
    crate::common::dev_servers::wait_until("core's PostgreSQL stopped", || {
        processes(&server).is_empty()
    });
    let _ = client.kill();
    let _ = client.wait();
}
