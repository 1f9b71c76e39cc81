//! Running the real BetterAuth (Node) from `runtime/auth/interop/`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Installs the pinned packages (`npm ci`) when `node_modules` is missing, so a fresh clone works.
/// Tests of one binary run in parallel: the lock keeps them from running two `npm ci` at once in
/// the same folder (npm then deletes the other's files half-way).
pub fn ensure_node_modules() {
    ensure_packages(&interop_dir(), "better-auth");
}

/// `npm ci` in `dir` unless `package` is installed there.
pub fn ensure_packages(dir: &std::path::Path, package: &str) {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if dir
        .join(format!("node_modules/{package}/package.json"))
        .exists()
    {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status()
        .expect("npm must be on PATH to install the pinned interop packages (Node >= 20.19)");
    assert!(status.success(), "npm ci failed in {}", dir.display());
}

/// A real BetterAuth 1.7.25 server on a free port; killed on drop.
pub struct BetterAuthServer {
    child: Child,
    pub port: u16,
}

impl BetterAuthServer {
    pub fn start(database_url: &str, secret: &str, trusted_origins: &str) -> Self {
        Self::start_with(
            stackr_testkit::free_port(),
            database_url,
            secret,
            trusted_origins,
            &[],
        )
    }

    /// On a given port, with extra environment (e.g. `OIDC_*` for an OpenID provider).
    pub fn start_with(
        port: u16,
        database_url: &str,
        secret: &str,
        trusted_origins: &str,
        env: &[(&str, String)],
    ) -> Self {
        ensure_node_modules();
        let mut command = Command::new("node");
        command
            .arg("ba-server.mjs")
            .current_dir(interop_dir())
            .env("BETTER_AUTH_SECRET", secret)
            .env("DATABASE_URL", database_url)
            .env("PORT", port.to_string())
            .env("TRUSTED_ORIGINS", trusted_origins)
            .env("POOL_SIZE", "16")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        let child = spawn_until_listening(command, "BetterAuth server");
        BetterAuthServer { child, port }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    #[allow(dead_code)] // benches/get_session.rs samples the server's CPU time by pid
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for BetterAuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `node <script> <args…>` in the interop folder and parses its one-line JSON output.
pub fn run_script(script: &str, args: &[&str]) -> (bool, serde_json::Value) {
    ensure_node_modules();
    let out = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(interop_dir())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let value = serde_json::from_str(line).unwrap_or_else(|_| {
        panic!(
            "{script} printed no JSON; stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), value)
}

/// Starts a Node server and waits (up to 90 s) for the `listening` line it prints when ready.
fn spawn_until_listening(mut command: Command, what: &str) -> Child {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node must be on PATH (Node >= 20.19)");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("listening") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(90))
        .unwrap_or_else(|_| panic!("{what} did not start within 90 s"));
    child
}

/// A real OpenID Connect provider (oidc-provider, pinned in `interop/oidc/`) on `port`, with one
/// client; killed on drop. See `interop/oidc/op-server.mjs` for its users and test controls.
pub struct OidcProvider {
    child: Child,
    pub port: u16,
}

impl OidcProvider {
    pub fn start(
        port: u16,
        client_id: &str,
        client_secret: &str,
        redirect_uris: &[String],
    ) -> Self {
        let dir = interop_dir().join("oidc");
        ensure_packages(&dir, "oidc-provider");
        let mut command = Command::new("node");
        command
            .arg("op-server.mjs")
            .current_dir(dir)
            .env("PORT", port.to_string())
            .env("CLIENT_ID", client_id)
            .env("CLIENT_SECRET", client_secret)
            .env("REDIRECT_URIS", redirect_uris.join(","));
        let child = spawn_until_listening(command, "the OpenID provider");
        OidcProvider { child, port }
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
