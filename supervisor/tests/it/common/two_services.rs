//! The two-service fixture stack (real PostgreSQL and Redis per service, plus a stand-in API):
//! a project folder with the fixture as its `process-compose.yaml` and free ports for it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{unique_mark, Supervised};

pub const SERVICES: [&str; 2] = ["core", "wallet"];
/// secrets + 5 processes per service.
pub const PROCESS_COUNT: usize = 1 + 5 * SERVICES.len();

pub struct Project {
    pub dir: tempfile::TempDir,
    pub mark: String,
    env: Vec<(String, String)>,
    pub ports: Vec<(String, u16)>,
}

impl Drop for Project {
    /// Nothing of a failed test may outlive it (ports, data dirs in /tmp).
    fn drop(&mut self) {
        for (pid, _) in self.leftovers_now() {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}

impl Project {
    fn leftovers_now(&self) -> Vec<(u32, String)> {
        let dir = self
            .dir
            .path()
            .canonicalize()
            .unwrap_or_else(|_| self.dir.path().to_owned());
        let mut left = super::processes_with_mark(&self.mark);
        left.extend(super::processes_inside(&dir));
        left
    }

    pub fn new(test: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("stackr-dev-")
            .tempdir()
            .unwrap();
        // The postgres user (root runs) must be able to traverse the project folder.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        std::fs::copy(
            fixtures.join("two-services.yaml"),
            dir.path().join("process-compose.yaml"),
        )
        .unwrap();
        let mark = unique_mark(test);
        let mut ports = Vec::new();
        for svc in SERVICES {
            for kind in ["PG", "REDIS", "API"] {
                ports.push((
                    format!("{}_{kind}_PORT", svc.to_uppercase()),
                    stackr_testkit::free_port(),
                ));
            }
        }
        let mut env: Vec<(String, String)> = ports
            .iter()
            .map(|(k, p)| (k.clone(), p.to_string()))
            .collect();
        env.push(("FIXTURES".into(), fixtures.display().to_string()));
        env.push(("STACKR_TEST_MARK".into(), mark.clone()));
        Project {
            dir,
            mark,
            env,
            ports,
        }
    }

    pub fn file(&self) -> PathBuf {
        self.dir.path().join("process-compose.yaml")
    }

    pub fn port(&self, name: &str) -> u16 {
        self.ports
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, p)| *p)
            .unwrap()
    }

    /// The environment the fixture expects (ports, fixtures folder, marker).
    #[allow(dead_code)] // benches/startup.rs starts the stack itself with it
    pub fn env_vars(&self) -> Vec<(String, String)> {
        self.env.clone()
    }

    pub fn start(&self) -> Supervised {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Supervised::start(&self.file(), &[], &env)
    }

    /// Secret of the project's state folder (read, never printed).
    pub fn secret(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(".stackr/secrets").join(name)).unwrap()
    }

    /// Runs SQL as the service's own role, with its password, over TCP.
    pub fn psql(&self, service: &str, sql: &str) -> Result<String, String> {
        let port = self.port(&format!("{}_PG_PORT", service.to_uppercase()));
        let out = Command::new(stackr_testkit::find_tool("psql"))
            .args([
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .args(["-U", service, "-d", service, "-c", sql])
            .env("PGPASSWORD", self.secret(&format!("{service}-db-password")))
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Runs a redis-cli command against the service's Redis, with its password.
    pub fn redis(&self, service: &str, args: &[&str]) -> String {
        let port = self.port(&format!("{}_REDIS_PORT", service.to_uppercase()));
        let out = Command::new(stackr_testkit::find_tool("redis-cli"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .env(
                "REDISCLI_AUTH",
                self.secret(&format!("{service}-redis-password")),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "redis-cli {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Processes still alive that belong to this project: by the environment marker, by a
    /// working directory inside the project (redis-server overwrites its environment), or by a
    /// command line naming it. Waits up to 30 s for them to go.
    pub fn leftovers(&self) -> Vec<(u32, String)> {
        let dir = self.dir.path().canonicalize().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let mut left = super::processes_with_mark(&self.mark);
            for (pid, cmd) in super::processes_inside(&dir) {
                if !left.iter().any(|(p, _)| *p == pid) {
                    left.push((pid, cmd));
                }
            }
            if left.is_empty() || std::time::Instant::now() >= deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET /health` of a service's API: status code and body.
    pub fn health(&self, service: &str) -> (u16, String) {
        let port = self.port(&format!("{}_API_PORT", service.to_uppercase()));
        http_get(port, "/health")
    }
}

pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("API listens");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let code = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (code, body)
}
