//! `stackr dev` (embedded supervisor) running a few processes of a project's generated file, its
//! servers without the build and the APIs, as root or as another OS user: for tests of what those
//! servers let other local users do and what they leave behind.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{init_project_on_free_ports, read_config};

/// Whether this test process is root (tests that change users skip without it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `program` run as OS user `user` with its groups (setpriv execs it: no process stays in
/// between, so a signal to the child reaches `program`).
pub fn as_user(user: &str, program: &str) -> Command {
    let group = Command::new("id").args(["-g", user]).output().unwrap();
    assert!(group.status.success(), "no user {user}");
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={user}"))
        .arg(format!(
            "--regid={}",
            String::from_utf8_lossy(&group.stdout).trim()
        ))
        .args(["--init-groups", "--", program]);
    command
}

/// A project made by `stackr init` on free ports, which `user` (root when `None`) owns, and which
/// every local user may traverse, as a project in a home folder on Debian (0755).
pub fn project_owned_by(user: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let (parent, root) = init_project_on_free_ports(&[]);
    for dir in [parent.path(), root.as_path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    if let Some(user) = user {
        let chown = Command::new("chown")
            .args(["-R", &format!("{user}:")])
            .arg(&root)
            .status()
            .unwrap();
        assert!(chown.success());
    }
    (parent, root)
}

/// The dev PostgreSQL and Redis ports of core, the project's first base service.
pub fn core_ports(root: &Path) -> (u16, u16) {
    let config = read_config(root);
    let port = |key: &str| config["dev"][key].as_u64().unwrap() as u16 + 1;
    (port("postgresPortStart"), port("redisPortStart"))
}

/// `stackr dev` running only `names` of the generated file (with its top-level settings), as
/// `user` (root when `None`); Ctrl-C'd and reaped when dropped.
pub struct DevServers {
    child: Child,
}

impl DevServers {
    pub fn start(root: &Path, names: &[&str], user: Option<&str>) -> DevServers {
        let mut stack: serde_yaml::Value = serde_yaml::from_str(
            &std::fs::read_to_string(root.join("process-compose.yaml")).unwrap(),
        )
        .unwrap();
        let only: serde_yaml::Mapping = names
            .iter()
            .map(|&name| (name.into(), stack["processes"][name].clone()))
            .collect();
        stack["processes"] = serde_yaml::Value::Mapping(only);
        std::fs::write(
            root.join("only-servers.yaml"),
            serde_yaml::to_string(&stack).unwrap(),
        )
        .unwrap();
        let stackr = env!("CARGO_BIN_EXE_stackr");
        let mut command = match user {
            Some(user) => as_user(user, stackr),
            None => Command::new(stackr),
        };
        let child = command
            .args([
                "dev",
                "--embedded",
                "--no-check",
                "--file",
                "only-servers.yaml",
            ])
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        DevServers { child }
    }

    /// Waits until `ready` holds; fails if `stackr dev` ends first.
    pub fn wait_until(&mut self, what: &str, mut ready: impl FnMut() -> bool) {
        wait_until(what, || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("stackr dev ended ({status}) before {what}");
            }
            ready()
        });
    }

    /// SIGKILL, as an OOM kill or `kill -9` would: no ordered shutdown runs.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }
}

impl Drop for DevServers {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `psql` as `user` (the test's own when `None`) through the unix socket of core's dev
/// PostgreSQL, as the cluster's superuser, running `sql`.
pub fn socket_psql(root: &Path, user: Option<&str>, sql: &str) -> Command {
    let mut command = match user {
        Some(user) => as_user(user, "psql"),
        None => Command::new("psql"),
    };
    let port = core_ports(root).0.to_string();
    command
        .arg("-X")
        .arg("-h")
        .arg(root.join(".stackr/run/core"))
        .args(["-p", &port, "-U", "stackr", "-d", "postgres", "-Atc", sql]);
    command
}

/// [`socket_psql`] run to its end.
pub fn socket_query(root: &Path, user: Option<&str>, sql: &str) -> Output {
    socket_psql(root, user, sql).output().unwrap()
}

/// Whether core's dev PostgreSQL answers on its TCP port.
pub fn postgres_ready(root: &Path) -> bool {
    let port = core_ports(root).0.to_string();
    Command::new("pg_isready")
        .args(["-q", "-h", "127.0.0.1", "-p", &port, "-d", "postgres"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Processes whose command line starts with `line`.
pub fn processes(line: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline)
            .replace('\0', " ")
            .starts_with(line)
        {
            found.push(pid);
        }
    }
    found
}

/// Polls `done` for up to 30 s.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills what is left of the processes whose command line starts with the string when the test
/// ends, passed or not.
pub struct KillOnDrop(pub String);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for pid in processes(&self.0) {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}
