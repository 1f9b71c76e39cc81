//! The `stackr-auth` binary's configuration errors name the variable to fix, and it serves from
//! the environment alone (the same variables the generated auth service gets).

use std::io::Read;
use std::process::Command;

fn run_with(env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stackr-auth"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn missing_variables_are_named() {
    let (ok, err) = run_with(&[]);
    assert!(!ok);
    assert!(err.contains("AUTH_BASE_URL"), "{err}");

    let (ok, err) = run_with(&[
        ("AUTH_BASE_URL", "http://localhost:8888"),
        ("AUTH_ADMIN_BIND", "localhost"),
    ]);
    assert!(!ok);
    assert!(err.contains("AUTH_ADMIN_BIND=localhost"), "{err}");

    let (ok, err) = run_with(&[
        ("AUTH_BASE_URL", "http://localhost:8888"),
        (
            "AUTH_ADMIN_HOSTS",
            "admin.example.com, https://admin.example.com:443",
        ),
    ]);
    assert!(!ok);
    assert!(
        err.contains("AUTH_ADMIN_HOSTS: `https://admin.example.com:443` is not a host name"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let (ok, err) = run_with(&[("AUTH_BASE_URL", "http://localhost:8888")]);
    assert!(!ok);
    assert!(err.contains("AUTH_SECRET_FILE"), "{err}");

    let short = dir.path().join("short");
    std::fs::write(&short, "too-short\n").unwrap();
    let (ok, err) = run_with(&[
        ("AUTH_BASE_URL", "http://localhost:8888"),
        ("AUTH_SECRET_FILE", short.to_str().unwrap()),
    ]);
    assert!(!ok);
    assert!(err.contains("shorter than 32"), "{err}");
    assert!(
        !err.contains("too-short"),
        "the secret itself is never printed: {err}"
    );

    let secret = dir.path().join("secret");
    std::fs::write(
        &secret,
        "0123456789abcdef0123456789abcdef0123456789abcdef\n",
    )
    .unwrap();
    let (ok, err) = run_with(&[
        ("AUTH_BASE_URL", "http://localhost:8888"),
        ("AUTH_SECRET_FILE", secret.to_str().unwrap()),
    ]);
    assert!(!ok);
    assert!(err.contains("DATABASE_URL"), "{err}");

    let (ok, err) = run_with(&[
        ("AUTH_BASE_URL", "http://localhost:8888"),
        ("AUTH_SECRET_FILE", secret.to_str().unwrap()),
        ("DATABASE_URL", "postgres://auth@127.0.0.1:1/auth"),
        ("AUTH_PROVISION_SERVICES", "core"),
    ]);
    assert!(!ok);
    assert!(err.contains("AUTH_SERVICE_CREDENTIALS_DIR"), "{err}");

    let (ok, err) = run_with(&[
        ("AUTH_BASE_URL", "http://localhost:8888"),
        ("AUTH_SECRET_FILE", secret.to_str().unwrap()),
        ("DATABASE_URL", "postgres://auth@127.0.0.1:1/auth"),
        ("AUTH_PROVISION_SERVICES", "core"),
        ("AUTH_SERVICE_CREDENTIALS_DIR", dir.path().to_str().unwrap()),
    ]);
    assert!(!ok);
    assert!(err.contains("core-credential"), "{err}");
}

/// The binary under test: stopped even when an assertion fails first (it would otherwise hold
/// the test's output pipes open).
struct KillOnDrop(std::process::Child);

impl KillOnDrop {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn serves_from_the_environment_with_password_file() {
    let pg = stackr_testkit::TempPostgres::start();
    let url_with_pw = pg.create_service_database("auth", "s3cret-db-pw");
    let url = url_with_pw.replace(":s3cret-db-pw@", "@");
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("auth-secret");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef0123456789abcdef").unwrap();
    let pw = dir.path().join("auth-db-password");
    std::fs::write(&pw, "s3cret-db-pw\n").unwrap();
    std::fs::write(
        dir.path().join("core-credential"),
        "core-cred-0123456789abcdef",
    )
    .unwrap();
    let port = stackr_testkit::free_port();
    let admin_port = stackr_testkit::free_port();
    let notify = stackr_testkit::NotifySocket::bind();
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_stackr-auth"))
            .env("NOTIFY_SOCKET", notify.path())
            .env("AUTH_BASE_URL", format!("http://localhost:{port}"))
            .env("AUTH_SECRET_FILE", &secret)
            .env("DATABASE_URL", &url)
            .env("DATABASE_PASSWORD_FILE", &pw)
            .env("PORT", port.to_string())
            .env("LISTEN_ADDRESS", "127.0.0.1")
            .env("AUTH_ADMIN_PORT", admin_port.to_string())
            // A private-network address instead of loopback (any 127.x address stands in for one).
            .env("AUTH_ADMIN_BIND", "127.0.0.2")
            .env("AUTH_PROVISION_SERVICES", "core")
            .env("AUTH_SERVICE_CREDENTIALS_DIR", dir.path())
            .env("AUTH_MAIL_DIR", dir.path().join("mail"))
            .env_remove("RUST_LOG")
            .env("LOG_FORMAT", "json")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    notify.wait_ready(std::time::Duration::from_secs(60));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "ready means listening"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.2", port)).is_err(),
        "the API listens on LISTEN_ADDRESS only"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.2", admin_port)).is_ok(),
        "the dashboard listens on AUTH_ADMIN_BIND"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", admin_port)).is_err(),
        "and only there"
    );
    let mut healthy = false;
    // Generous: the binary connects to PostgreSQL and migrates first, slowly on a loaded machine.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut resp = String::new();
            let _ = s.read_to_string(&mut resp);
            if resp.starts_with("HTTP/1.1 200") {
                healthy = true;
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.stop();
    assert!(
        healthy,
        "the binary became healthy with DATABASE_PASSWORD_FILE"
    );
    assert!(dir.path().join("mail").is_dir(), "mailbox folder created");
    // Captured logs (process-compose, journald) are plain text: no terminal colour codes.
    let mut logs = String::new();
    for pipe in [
        child
            .0
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read>),
        child
            .0
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read>),
    ]
    .into_iter()
    .flatten()
    {
        let mut pipe = pipe;
        pipe.read_to_string(&mut logs).unwrap();
    }
    assert!(!logs.trim().is_empty(), "the binary logs its start");
    assert!(!logs.contains('\u{1b}'), "colour codes in: {logs:?}");
    // LOG_FORMAT=json, as for every runtime process: a JSON object per line, on stderr.
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        let entry: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(entry["level"].is_string(), "{line}");
    }
}
