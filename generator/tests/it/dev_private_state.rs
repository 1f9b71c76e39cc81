//! What the dev servers keep and serve is the developer's only: another local user (`nobody`
//! here) can neither connect to a dev PostgreSQL through its unix socket, where the cluster trusts
//! whoever connects as its superuser, nor read the Redis data. Both as root (PostgreSQL then runs
//! as the `postgres` user) and as an ordinary developer (played by the `postgres` user, the one
//! other account every machine with PostgreSQL has).

use std::path::Path;

use crate::common::dev_servers::{
    as_user, core_ports, is_root, postgres_ready, project_owned_by, socket_query, DevServers,
};
use crate::common::installed;

const OTHER_USER: &str = "nobody";

fn can_run() -> bool {
    let tools = ["setpriv", "psql", "pg_isready", "redis-server", "redis-cli"];
    if !is_root() || !tools.iter().all(|t| installed(t)) {
        eprintln!("skipped: needs root (to act as other users), setpriv, PostgreSQL and Redis");
        return false;
    }
    true
}

fn socket_is_the_owners_only(developer: Option<&str>) {
    let (_parent, root) = project_owned_by(developer);
    // db-setup too: it connects through the socket, as the developer or as root.
    let mut dev = DevServers::start(
        &root,
        &["secrets", "core-db-init", "core-postgres", "core-db-setup"],
        developer,
    );
    dev.wait_until("core's PostgreSQL ready", || postgres_ready(&root));
    let password = root.join(".stackr/secrets/core-db-password");
    let port = core_ports(&root).0.to_string();
    dev.wait_until("db-setup made core's role", || {
        let password = std::fs::read_to_string(&password).unwrap_or_default();
        let login = crate::common::tcp_login(&port, "core", "core", &password);
        String::from_utf8_lossy(&login.stdout).trim() == "core"
    });
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

/// Every file under `dir`, folders included.
fn tree(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = vec![dir.to_owned()];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(tree(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn redis_data_is_the_owners_only(developer: Option<&str>) {
    let (_parent, root) = project_owned_by(developer);
    // Left by an older stackr, which wrote Redis data readable by all in its state folder.
    stackr_supervisor::ensure_state_dir(&root.join(".stackr"), &root).unwrap();
    let redis = root.join(".stackr/data/core/redis");
    std::fs::create_dir_all(&redis).unwrap();
    std::fs::write(redis.join("left-by-an-older-stackr"), "job data").unwrap();
    if let Some(user) = developer {
        let chown = std::process::Command::new("chown")
            .args(["-R", &format!("{user}:")])
            .arg(root.join(".stackr"))
            .status()
            .unwrap();
        assert!(chown.success());
    }
    // db-init too: as root it opens the state folders to the `postgres` user's traversal.
    let mut dev = DevServers::start(&root, &["secrets", "core-db-init", "core-redis"], developer);
    let aof = redis.join("appendonlydir");
    dev.wait_until("Redis's append-only files", || {
        std::fs::read_dir(&aof).is_ok_and(|files| files.count() >= 2)
    });
    let redis_port = core_ports(&root).1.to_string();
    let password = root.join(".stackr/secrets/core-redis-password");
    dev.wait_until("Redis ready", || {
        let ping = std::process::Command::new("sh")
            .args([
                "-c",
                "redis-cli --askpass -h 127.0.0.1 -p \"$1\" ping < \"$2\"",
            ])
            .args(["sh", &redis_port])
            .arg(&password)
            .output()
            .unwrap();
        String::from_utf8_lossy(&ping.stdout).contains("PONG")
    });
    let mut private = tree(&redis);
    private.extend(tree(&root.join(".stackr/secrets")));
    for path in private {
        let (program, verb) = if path.is_dir() {
            ("ls", "listed")
        } else {
            ("cat", "read")
        };
        let attempt = as_user(OTHER_USER, program).arg(&path).output().unwrap();
        assert!(
            !attempt.status.success()
                && String::from_utf8_lossy(&attempt.stderr).contains("Permission denied"),
            "another local user {verb} {}",
            path.display()
        );
    }
}

#[test]
fn another_user_cannot_read_the_redis_data_of_root() {
    if can_run() {
        redis_data_is_the_owners_only(None);
    }
}

#[test]
fn another_user_cannot_read_the_redis_data_of_a_developer() {
    if can_run() {
        redis_data_is_the_owners_only(Some("postgres"));
    }
}

/// Run as root, the stack lets the `postgres` user its servers run as through the state folder,
/// and no one else: what the stack did not write itself (a provider's secret copied in with the
/// usual modes, 0644 in a 0755 folder) stays out of other users' reach, and so does the dev lock,
/// which anyone who can open it can hold, refusing every later `stackr dev` of the project.
#[test]
fn another_user_cannot_enter_the_state_folder_of_root() {
    use std::os::unix::fs::PermissionsExt;
    if !can_run() {
        return;
    }
    let (_parent, root) = project_owned_by(None);
    let state = root.join(".stackr");
    stackr_supervisor::ensure_state_dir(&state, &root).unwrap();
    let secrets = state.join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o755)).unwrap();
    let copied = secrets.join("oauth-google-client-secret");
    std::fs::write(&copied, "g-s3cret").unwrap();
    std::fs::set_permissions(&copied, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Up to PostgreSQL ready: its user does get through.
    let mut dev = DevServers::start(&root, &["secrets", "core-db-init", "core-postgres"], None);
    dev.wait_until("core's PostgreSQL ready", || postgres_ready(&root));
    let read = as_user(OTHER_USER, "cat").arg(&copied).output().unwrap();
    assert!(
        !read.status.success()
            && String::from_utf8_lossy(&read.stderr).contains("Permission denied"),
        "another local user read {}: {}",
        copied.display(),
        String::from_utf8_lossy(&read.stdout)
    );
    let lock = state.join("dev.lock");
    let held = as_user(OTHER_USER, "flock")
        .args(["--nonblock", "--shared"])
        .arg(&lock)
        .arg("true")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&held.stderr).contains("Permission denied"),
        "another local user opened {} to lock it: {}",
        lock.display(),
        String::from_utf8_lossy(&held.stderr)
    );
}
