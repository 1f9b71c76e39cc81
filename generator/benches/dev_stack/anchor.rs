//! The anchor: what a developer otherwise runs for the same services, one PostgreSQL and one
//! Redis per service with stock settings (the official images' defaults, as create-stackr's
//! Docker Compose file starts them: no configuration of their own). Servers only, no clients.
//!
//! The same servers also run with the least they can idle at, to measure the memory floor of
//! one base service's stores (see [`Settings::Least`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stackr_testkit::find_tool;

/// Anchor server ports, apart from the stacks' and below Linux's ephemeral range (32768-60999),
/// where a client socket of any other program can hold a port.
const POSTGRES_PORT_START: u16 = 30440;
const REDIS_PORT_START: u16 = 31380;
const READY_TIMEOUT: Duration = Duration::from_secs(120);

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `program` run as `postgres` when we are root (initdb and postgres refuse root).
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ])
        .arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A cluster made once by initdb, copied for each server (initdb's work is the same each time).
pub struct Template {
    dir: tempfile::TempDir,
}

impl Template {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("stackr-dev-stack-anchor-")
            .tempdir()
            .expect("temporary folder");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let mut initdb = as_postgres(&find_tool("initdb"));
        initdb.arg("-D").arg(dir.path().join("template")).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
        ]);
        run(initdb, "initdb of the anchor's template cluster");
        Template { dir }
    }
}

/// How the servers are configured.
#[derive(Clone, Copy)]
pub enum Settings {
    /// No configuration of their own.
    Stock,
    /// Every process and buffer either server can do without turned off: PostgreSQL keeps only
    /// the processes it cannot run without (postmaster, checkpointer, background writer, WAL
    /// writer: no autovacuum launcher, no logical replication launcher, no background workers)
    /// and 128kB of shared buffers; Redis never saves. No dev stack should run like this
    /// (nothing vacuums), but no configuration of these programs can use less.
    Least,
}

impl Settings {
    fn postgres_args(self) -> &'static [&'static str] {
        match self {
            Settings::Stock => &[],
            Settings::Least => &[
                "-c",
                "autovacuum=off",
                "-c",
                "max_logical_replication_workers=0",
                "-c",
                "max_worker_processes=0",
                "-c",
                "max_wal_senders=0",
                "-c",
                "shared_buffers=128kB",
                "-c",
                "max_connections=2",
                "-c",
                "superuser_reserved_connections=0",
            ],
        }
    }

    fn redis_args(self) -> &'static [&'static str] {
        match self {
            Settings::Stock => &[],
            Settings::Least => &["--save", "", "--appendonly", "no"],
        }
    }
}

pub struct Anchor {
    pub servers: Vec<Child>,
    /// (service index, PostgreSQL port, Redis port).
    pub ports: Vec<(usize, u16, u16)>,
    data: Vec<PathBuf>,
}

impl Anchor {
    /// Starts `count` PostgreSQL and `count` Redis servers and waits until all answer.
    pub fn start(template: &Template, count: usize, settings: Settings) -> Self {
        let mut servers = Vec::new();
        let mut ports = Vec::new();
        let mut data = Vec::new();
        for i in 0..count {
            let (pg_port, redis_port) =
                (POSTGRES_PORT_START + i as u16, REDIS_PORT_START + i as u16);
            let pg_dir = template.dir.path().join(format!("pg{i}"));
            let redis_dir = template.dir.path().join(format!("redis{i}"));
            let mut copy = Command::new("cp");
            copy.arg("-a")
                .arg(template.dir.path().join("template"))
                .arg(&pg_dir);
            run(copy, "copy the template cluster");
            std::fs::create_dir_all(&redis_dir).unwrap();
            let mut postgres = as_postgres(&find_tool("postgres"));
            postgres
                .arg("-D")
                .arg(&pg_dir)
                .args([
                    "-p",
                    &pg_port.to_string(),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-k",
                ])
                .arg(&pg_dir)
                .args(settings.postgres_args());
            let mut redis = Command::new(find_tool("redis-server"));
            redis
                .args([
                    "--port",
                    &redis_port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                ])
                .arg(&redis_dir)
                .args(settings.redis_args());
            for (mut server, log) in [(postgres, &pg_dir), (redis, &redis_dir)] {
                use std::os::unix::process::CommandExt;
                // Beside the data folder, so that a server that does not come up can say why.
                let log = std::fs::File::create(log.with_extension("log")).expect("anchor log");
                server
                    .process_group(0)
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().expect("anchor log"))
                    .stderr(log);
                servers.push(server.spawn().expect("start an anchor server"));
            }
            ports.push((i, pg_port, redis_port));
            data.push(pg_dir);
            data.push(redis_dir);
        }
        let anchor = Anchor {
            servers,
            ports,
            data,
        };
        anchor.wait_ready();
        anchor
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let (pg_isready, redis_cli) = (find_tool("pg_isready"), find_tool("redis-cli"));
        for &(_, pg, redis) in &self.ports {
            let postgres_ready = || {
                Command::new(&pg_isready)
                    .args(["-q", "-h", "127.0.0.1", "-p", &pg.to_string()])
                    .status()
                    .is_ok_and(|s| s.success())
            };
            let redis_ready = || {
                Command::new(&redis_cli)
                    .args(["-h", "127.0.0.1", "-p", &redis.to_string(), "ping"])
                    .output()
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("PONG"))
            };
            while !(postgres_ready() && redis_ready()) {
                assert!(
                    Instant::now() < deadline,
                    "anchor servers on ports {pg} and {redis} not ready within {READY_TIMEOUT:?}; \
                     their logs:\n{}",
                    self.logs()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// The end of every server's log.
    fn logs(&self) -> String {
        self.data
            .iter()
            .map(|dir| {
                let log = dir.with_extension("log");
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(5).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("{}:\n  {}", log.display(), tail.join("\n  "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(Child::id).collect()
    }

    /// SIGINT to every server (PostgreSQL's fast shutdown; Redis saves and exits), then waits.
    pub fn stop(mut self) {
        for s in &self.servers {
            // SAFETY: kill only sends a signal to our own child.
            unsafe { libc::kill(s.id() as i32, libc::SIGINT) };
        }
        for s in &mut self.servers {
            s.wait().expect("wait for an anchor server");
        }
        for dir in &self.data {
            let _ = std::fs::remove_dir_all(dir);
            let _ = std::fs::remove_file(dir.with_extension("log"));
        }
    }
}
