//! The dev servers serve the developer only: another local user (`nobody`
//! here) cannot connect to a dev PostgreSQL through its unix socket, where the cluster trusts
//! whoever connects as its superuser. Both as root (PostgreSQL then runs as the `postgres` user)
//! and as an ordinary developer (played by the `postgres` user, the one other account every
//! machine with PostgreSQL has).

use crate::common::dev_servers::{
    is_root, postgres_ready, project_owned_by, socket_query, DevServers,
};
use crate::common::installed;

const OTHER_USER: &str = "nobody";

fn can_run() -> bool {
    let tools = ["setpriv", "psql", "pg_isready"];
    if !is_root() || !tools.iter().all(|t| installed(t)) {
        eprintln!("skipped: needs root (to act as other users), setpriv and PostgreSQL");
        return false;
    }
    true
}

fn socket_is_the_owners_only(developer: Option<&str>) {
    let (_parent, root) = project_owned_by(developer);
    let mut dev = DevServers::start(&root, &["core-db-init", "core-postgres"], developer);
    dev.wait_until("core's PostgreSQL ready", || postgres_ready(&root));
    let owner = socket_query(&root, developer, "SELECT current_user");
    assert_eq!(
        String::from_utf8_lossy(&owner.stdout).trim(),
        "stackr",
        "the developer connects through the socket: {}",
        String::from_utf8_lossy(&owner.stderr)
    );
    let other = socket_query(&root, Some(OTHER_USER), "SELECT current_user");
    assert!(
        !other.status.success(),
        "another local user connected as the superuser: {}",
        String::from_utf8_lossy(&other.stdout)
    );
    // Refused for want of access to the socket, not for anything else.
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("Permission denied"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
}

#[test]
fn another_user_cannot_connect_to_the_dev_postgres_socket_of_root() {
    if can_run() {
        socket_is_the_owners_only(None);
    }
}

#[test]
fn another_user_cannot_connect_to_the_dev_postgres_socket_of_a_developer() {
    if can_run() {
        socket_is_the_owners_only(Some("postgres"));
    }
}
