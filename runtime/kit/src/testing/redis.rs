use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{find_tool, free_port};

/// A redis-server on a free loopback port, persistence off, killed on drop.
pub struct TempRedis {
    child: Child,
    port: u16,
    password: Option<String>,
    dir: tempfile::TempDir,
}

impl TempRedis {
    pub fn start() -> Self {
        Self::start_with_password(None)
    }

    pub fn start_with_password(password: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir for redis");
        let port = free_port();
        let child = spawn(port, password, dir.path(), &[]);
        let redis = TempRedis {
            child,
            port,
            password: password.map(str::to_owned),
            dir,
        };
        redis.wait_ready();
        redis
    }

    /// Starts the server again, on the same port and data folder, after [`TempRedis::kill`]
    /// (tests of "Redis came back", or of a client started before its Redis).
    pub fn start_again(&mut self) {
        self.start_again_with(&[]);
    }

    /// [`TempRedis::start_again`] with more `redis-server` arguments. Returns once it listens,
    /// which may be before it has loaded its data.
    pub fn start_again_with(&mut self, args: &[&str]) {
        self.kill();
        self.child = spawn(self.port, self.password.as_deref(), self.dir.path(), args);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        // Generous: the wait ends as soon as Redis listens, and a loaded machine is slow.
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "redis-server did not listen on port {} within 60 s",
            self.port
        );
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://[:password@]127.0.0.1:port`
    pub fn url(&self) -> String {
        match &self.password {
            Some(pw) => format!("redis://:{pw}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// Kills the server now (tests of "Redis went away").
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TempRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn(port: u16, password: Option<&str>, dir: &std::path::Path, args: &[&str]) -> Child {
    let mut cmd = Command::new(find_tool("redis-server"));
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
    ])
    .args(["--appendonly", "no", "--dir"])
    .arg(dir)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if let Some(pw) = password {
        cmd.args(["--requirepass", pw]);
    }
    cmd.args(args);
    cmd.spawn().expect("spawn redis-server")
}
