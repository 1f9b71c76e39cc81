//! Each service's dev PostgreSQL server and the connection pools its processes open on it. A dev
//! stack of 25 services runs 25 servers on one machine, so each server is small, and what the API
//! and the worker may open together has to fit in it.

/// The command prefix that runs `initdb` and the server as the `postgres` user when `stackr dev`
/// runs as root (the process-compose template says why each flag).
pub const AS_POSTGRES_WHEN_ROOT: &str =
    "setpriv --reuid=postgres --regid=postgres --init-groups --pdeathsig keep --";

/// `max_connections` of every dev PostgreSQL server.
pub const MAX_CONNECTIONS: u32 = 20;
/// `superuser_reserved_connections` of every dev server (PostgreSQL's default, passed explicitly
/// so that the budget below and the server agree): `db-setup` and a developer's `psql` as the
/// superuser always get in.
pub const SUPERUSER_RESERVED_CONNECTIONS: u32 = 3;
/// `DATABASE_POOL_SIZE` of a base service's API in dev: one developer's requests.
pub const API_POOL_SIZE: u32 = 4;
/// `DATABASE_POOL_SIZE` of a base service's worker in dev (for handlers that open the database).
pub const WORKER_POOL_SIZE: u32 = 2;

// The API's and the worker's pools together never exceed what the server lets the service's role
// open; the rest is left to tools connecting as that role.
const _: () =
    assert!(API_POOL_SIZE + WORKER_POOL_SIZE <= MAX_CONNECTIONS - SUPERUSER_RESERVED_CONNECTIONS);
