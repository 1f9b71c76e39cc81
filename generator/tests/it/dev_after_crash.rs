//! The dev stack after a machine crash (power cut, kernel panic): PostgreSQL's lock files survive
//! with the pid of a server that died with the machine, and after the restart that number often
//! belongs to another live process of the server's user. PostgreSQL takes such a file for a
//! running server's and refuses to start, again at every restart of the process.

use std::path::{Path, PathBuf};

use crate::common::dev_servers::{
    as_user, core_ports, is_root, postgres_ready, project_owned_by, DevServers,
};
use crate::common::installed;

const SERVERS: &[&str] = &["secrets", "core-db-init", "core-postgres"];

/// Core's lock files: the cluster's and its Unix socket's.
fn lock_files(root: &Path) -> [PathBuf; 2] {
    let (port, _) = core_ports(root);
    [
        root.join(".stackr/data/core/postgres/postmaster.pid"),
        root.join(format!(".stackr/run/core/.s.PGSQL.{port}.lock")),
    ]
}

/// Runs core's server, then stops it as a crash would: the server and its children killed at
/// once, and `stackr dev` with them, so no shutdown of PostgreSQL's own removes its lock files.
fn crash(root: &Path) {
    let mut dev = DevServers::start(root, SERVERS, None);
    dev.wait_until("core's PostgreSQL ready", || postgres_ready(root));
    let [pid_file, _] = lock_files(root);
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // The server execs in place of its shell, which leads its own process group.
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(-pid, libc::SIGKILL) }, 0);
    dev.kill();
    for lock in lock_files(root) {
        assert!(lock.exists(), "{} was removed", lock.display());
    }
}

/// A live process of the user the dev server runs as (`postgres` when the tests run as root).
struct LiveProcess(std::process::Child);

impl LiveProcess {
    fn start() -> LiveProcess {
        let mut sleep = if is_root() {
            as_user("postgres", "sleep")
        } else {
            std::process::Command::new("sleep")
        };
        LiveProcess(sleep.arg("600").spawn().unwrap())
    }
}

impl Drop for LiveProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Puts `first_line` in place of the first line (the pid) of each lock file.
fn rewrite_pids(root: &Path, first_line: &str) {
    for lock in lock_files(root) {
        let text = std::fs::read_to_string(&lock).unwrap();
        let rest = text.split_once('\n').map_or("", |(_, rest)| rest);
        std::fs::write(&lock, format!("{first_line}\n{rest}")).unwrap();
    }
}

fn can_run() -> bool {
    let tools = ["initdb", "postgres", "pg_isready"]
        .iter()
        .all(|t| installed(t));
    if !tools || (is_root() && !installed("setpriv")) {
        eprintln!("skipped: needs PostgreSQL's tools (and setpriv as root)");
        return false;
    }
    true
}

#[test]
fn postgres_starts_when_its_crashed_servers_pid_is_another_live_process() {
    if !can_run() {
        return;
    }
    let (_parent, root) = project_owned_by(None);
    crash(&root);
    let reused = LiveProcess::start();
    rewrite_pids(&root, &reused.0.id().to_string());
    let mut dev = DevServers::start(&root, SERVERS, None);
    dev.wait_until("core's PostgreSQL ready after the crash", || {
        postgres_ready(&root)
    });
}

/// A crash just after PostgreSQL created its lock file leaves it without a pid.
#[test]
fn postgres_starts_when_the_crash_left_its_lock_files_empty() {
    if !can_run() {
        return;
    }
    let (_parent, root) = project_owned_by(None);
    crash(&root);
    for lock in lock_files(&root) {
        std::fs::write(&lock, "").unwrap();
    }
    let mut dev = DevServers::start(&root, SERVERS, None);
    dev.wait_until("core's PostgreSQL ready after the crash", || {
        postgres_ready(&root)
    });
}

/// The lock files of a server that runs are kept: a second server started on its cluster by
/// hand (the generated command run again) is refused by PostgreSQL, not let in beside it.
#[test]
fn a_running_servers_lock_files_are_kept() {
    if !can_run() {
        return;
    }
    let (_parent, root) = project_owned_by(None);
    let mut dev = DevServers::start(&root, SERVERS, None);
    dev.wait_until("core's PostgreSQL ready", || postgres_ready(&root));
    let generated: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(root.join("process-compose.yaml")).unwrap())
            .unwrap();
    let second = std::process::Command::new("bash")
        .args([
            "-c",
            generated["processes"]["core-postgres"]["command"]
                .as_str()
                .unwrap(),
        ])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(!second.status.success(), "a second server ran");
    for lock in lock_files(&root) {
        assert!(lock.exists(), "{} was removed", lock.display());
    }
    assert!(postgres_ready(&root));
}
