//! Running the real BetterAuth (Node) from `runtime/auth/interop/`.
#![allow(dead_code)]

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
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = interop_dir();
    if dir.join("node_modules/better-auth/package.json").exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .expect("npm must be on PATH to install the pinned better-auth (Node >= 20.19)");
    assert!(status.success(), "npm ci failed in {}", dir.display());
}

/// A real BetterAuth 1.7.25 server on a free port; killed on drop.
pub struct BetterAuthServer {
    child: Child,
    pub port: u16,
}

impl BetterAuthServer {
    pub fn start(database_url: &str, secret: &str, trusted_origins: &str) -> Self {
        ensure_node_modules();
        let port = stackr_testkit::free_port();
        let mut child = Command::new("node")
            .arg("ba-server.mjs")
            .current_dir(interop_dir())
            .env("BETTER_AUTH_SECRET", secret)
            .env("DATABASE_URL", database_url)
            .env("PORT", port.to_string())
            .env("TRUSTED_ORIGINS", trusted_origins)
            .env("POOL_SIZE", "16")
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
            .expect("BetterAuth server did not start within 90 s");
        BetterAuthServer { child, port }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
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
