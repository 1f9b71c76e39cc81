use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ports::renew;
use super::{find_tool, free_port};

/// A redis-server on a free loopback port and a Unix socket in its own folder, persistence off,
/// killed on drop.
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
        let mut attempts = 1;
        loop {
            let dir = tempfile::tempdir().expect("temp dir for redis");
            let port = free_port();
            let child = spawn(port, password, dir.path(), &[]);
            let mut redis = TempRedis {
                child,
                port,
                password: password.map(str::to_owned),
                dir,
            };
            match redis.wait_ready() {
                Ok(()) => return redis,
                // Another process took the port between `free_port`'s check and our server's
                // bind (one that does not reserve its ports): another port will do.
                Err(exited) if attempts < START_ATTEMPTS => {
                    eprintln!("{exited}; trying another port");
                    attempts += 1;
                }
                Err(exited) => panic!("{exited}"),
            }
        }
    }

    /// Starts the server again, on the same port and data folder, after [`TempRedis::kill`]
    /// (tests of "Redis came back", or of a client started before its Redis).
    pub fn start_again(&mut self) {
        self.start_again_with(&[]);
    }

    /// [`TempRedis::start_again`] with more `redis-server` arguments. Returns once it answers,
    /// which may be before it has loaded its data.
    pub fn start_again_with(&mut self, args: &[&str]) {
        self.kill();
        self.child = spawn(self.port, self.password.as_deref(), self.dir.path(), args);
        if let Err(exited) = self.wait_ready() {
            panic!("{exited}");
        }
    }

    /// Returns once this server answers on its port; `Err` when it exited first (its port was
    /// taken). What answers must be this server: a connection alone could reach whatever else
    /// listens there.
    fn wait_ready(&mut self) -> Result<(), String> {
        // Generous: the wait ends as soon as Redis answers, and a loaded machine is slow.
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "redis-server exited ({status}) before answering on port {}: is another \
                     process listening there?",
                    self.port
                ));
            }
            if self.answering_pid() == Some(self.child.id()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "redis-server did not answer on port {} within 60 s",
            self.port
        );
    }

    /// The `process_id` of the Redis answering on this port, if one does (and, with a password,
    /// accepts it).
    fn answering_pid(&self) -> Option<u32> {
        // Bounded: what listens may accept and never answer.
        let wait = Duration::from_secs(1);
        let client = redis::Client::open(self.url()).ok()?;
        let mut conn = client.get_connection_with_timeout(wait).ok()?;
        conn.set_read_timeout(Some(wait)).ok()?;
        let info: String = redis::cmd("INFO").arg("server").query(&mut conn).ok()?;
        info.lines()
            .find_map(|line| line.strip_prefix("process_id:"))
            .and_then(|pid| pid.trim().parse().ok())
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

    /// `redis+unix://<folder>/redis.sock`: the same server through its Unix socket, without the
    /// password (which, as a deployment's, comes from `REDIS_PASSWORD_FILE`).
    pub fn socket_url(&self) -> String {
        format!("redis+unix://{}", self.dir.path().join(SOCKET).display())
    }

    /// Kills the server now (tests of "Redis went away"). Its port stays reserved for
    /// [`TempRedis::start_again`].
    pub fn kill(&mut self) {
        self.stop();
        renew(self.port);
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TempRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The Unix socket's name in the server's folder.
const SOCKET: &str = "redis.sock";

/// Fresh starts made before giving up on finding a port no other process takes.
const START_ATTEMPTS: u32 = 5;

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
    .arg("--unixsocket")
    .arg(dir.join(SOCKET))
    .args(["--unixsocketperm", "700"])
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if let Some(pw) = password {
        cmd.args(["--requirepass", pw]);
    }
    cmd.args(args);
    cmd.spawn().expect("spawn redis-server")
}
