//! A project's whole stack run by `stackr dev` (embedded supervisor) on free ports: its own
//! PostgreSQL and Redis per service, built and started as a user starts it, stopped with Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stackr_testkit::free_port;

use super::local_build::in_shared_target;

/// Gives every API, auth's admin page and the dev PostgreSQL/Redis ranges of the project at
/// `root` free loopback ports (the defaults may be taken on a shared machine), then regenerates.
pub fn use_free_ports(root: &Path) {
    super::edit_config(root, |config| {
        let count = config["services"].as_array().unwrap().len() as u16;
        // Each port or range is free now and apart from those picked before it: two picks may
        // otherwise land on the same free port (the config would be refused as a collision).
        let mut picked = std::collections::BTreeSet::new();
        let mut pick = |count: u16| loop {
            let start = free_range(count);
            let ports = (0..count).map(|i| start + i);
            if ports.clone().all(|p| !picked.contains(&p)) {
                picked.extend(ports);
                break start;
            }
        };
        for service in config["services"].as_array_mut().unwrap() {
            service["port"] = pick(1).into();
            if service["kind"] == "auth" {
                service["adminPort"] = pick(1).into();
            }
        }
        config["dev"]["postgresPortStart"] = pick(count).into();
        config["dev"]["redisPortStart"] = pick(count).into();
    });
}

/// The first of `count` consecutive ports that are all free now.
fn free_range(count: u16) -> u16 {
    let free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    (0..100)
        .map(|_| free_port())
        .find(|start| (1..count).all(|i| start.checked_add(i).is_some_and(free)))
        .expect("a range of free ports")
}

/// `stackr dev` running in a project; Ctrl-C'd (and reaped) when dropped.
pub struct DevStack {
    child: Child,
    log: PathBuf,
    _log_dir: tempfile::TempDir,
}

/// How long the first start may take: it builds the project's crates on a loaded machine.
const READY_WITHIN: Duration = Duration::from_secs(1800);

impl DevStack {
    /// Starts `stackr dev ARGS` in `root` and waits for its all-ready line.
    pub fn start(root: &Path, args: &[&str]) -> DevStack {
        // The postgres user (initdb refuses root) must be able to traverse the project folder.
        use std::os::unix::fs::PermissionsExt;
        for dir in root.ancestors().take(2) {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("dev.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = in_shared_target(Command::new(env!("CARGO_BIN_EXE_stackr")))
            .current_dir(root)
            .arg("dev")
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start stackr dev");
        let stack = DevStack {
            child,
            log,
            _log_dir: log_dir,
        };
        stack.wait_for("processes ready", READY_WITHIN);
        stack
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log holds `line`; fails with the log when `within` passes or dev exits.
    pub fn wait_for(&self, line: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log().contains(line) {
            let tail: String = self
                .log()
                .lines()
                .rev()
                .take(60)
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                Instant::now() < deadline,
                "stackr dev did not print `{line}` within {within:?}; last lines (newest first):\n{tail}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Ctrl-C, then the exit status once every process has stopped.
    pub fn stop(mut self) -> std::process::ExitStatus {
        self.interrupt();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "stackr dev still runs 120 s after Ctrl-C:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn interrupt(&self) {
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
        }
    }
}

impl Drop for DevStack {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.interrupt();
            let deadline = Instant::now() + Duration::from_secs(60);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
