//! Runs the generated dev commands for real (PostgreSQL, Redis, secrets; not the cargo build or
//! the APIs): initdb on first start (dropping to the `postgres` user when run as root), the
//! role + database with the password from its file, Redis with `requirepass`, the readiness
//! probes, and idempotent re-runs. The service is named like an SQL keyword (`user`), so every
//! generated SQL statement must quote it; the deployment's provisioning SQL (modules/lib.nix) runs
//! against the same server for a second keyword-named service. Skipped when PostgreSQL or Redis
//! is not installed.

use crate::common;

use common::bash;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const CONFIG: &str = r#"{
  "name": "devtest",
  "dev": { "postgresPortStart": 45320, "redisPortStart": 45790 },
  "services": [ { "name": "user", "kind": "auth" } ]
}"#;

fn spawn(dir: &Path, script: &str) -> Child {
    Command::new("bash")
        .args(["-c", script])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_ready(dir: &Path, probe: &str) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if bash(dir, probe).status.success() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    false
}

/// Stops a long-running process the way process-compose does (its shutdown signal).
struct Running(Child, &'static str);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args([self.1, &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

#[test]
fn generated_dev_commands_bring_up_postgres_and_redis() {
    if ![
        "initdb",
        "postgres",
        "psql",
        "pg_isready",
        "redis-server",
        "redis-cli",
    ]
    .iter()
    .all(|t| common::installed(t))
    {
        eprintln!("PostgreSQL/Redis not installed: skipped");
        return;
    }
    // Under the target dir rather than /tmp: when tests run as root the `postgres` user must be
    // able to traverse every parent folder.
    let dir = tempfile::Builder::new()
        .prefix("dev-commands-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = dir.path();
    let files = stackr::generate_in_memory(CONFIG).unwrap();
    let yaml = &files
        .iter()
        .find(|f| f.path == "process-compose.yaml")
        .unwrap()
        .content;
    let compose: Value = serde_yaml::from_str(yaml).unwrap();
    let processes = &compose["processes"];
    let command = |name: &str| processes[name]["command"].as_str().unwrap().to_owned();
    let probe = |name: &str| {
        processes[name]["readiness_probe"]["exec"]["command"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // Secrets: created once, private, stable across runs.
    assert!(bash(root, &command("secrets")).status.success());
    // Run first, as under `nix run .#dev`, the step marks the state folder as `stackr dev` does,
    // which then takes it over (it refuses a folder of other files).
    stackr_supervisor::refuse_a_folder_of_other_files(&root.join(".stackr"), &[])
        .expect("the state folder the secrets step made");
    let secret_file = root.join(".stackr/secrets/user-db-password");
    let password = std::fs::read_to_string(&secret_file).unwrap();
    assert_eq!(password.len(), 48);
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        std::fs::metadata(&secret_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    // An older stack left its state folder open to all: the step makes it the developer's.
    let state_dir = root.join(".stackr");
    std::fs::set_permissions(&state_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(bash(root, &command("secrets")).status.success());
    assert_eq!(
        std::fs::read_to_string(&secret_file).unwrap(),
        password,
        "secrets are created once"
    );
    let mode = std::fs::metadata(&state_dir).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o777,
        0o700,
        "the state folder is the developer's only"
    );

    let init = bash(root, &command("user-db-init"));
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert!(root.join(".stackr/data/user/postgres/PG_VERSION").is_file());
    assert!(
        bash(root, &command("user-db-init")).status.success(),
        "db-init is idempotent"
    );

    // As a developer may run it, logging every statement: no password may reach the log.
    let logging_every_statement = format!(
        "{} -c log_statement=all -c log_min_duration_statement=0 -c log_min_error_statement=debug5 -c logging_collector=on -c log_filename=server.log",
        command("user-postgres").trim_end()
    );
    let _postgres = Running(spawn(root, &logging_every_statement), "-INT");
    assert!(
        wait_ready(root, &probe("user-postgres")),
        "postgres never became ready"
    );
    for _ in 0..2 {
        let setup = bash(root, &command("user-db-setup"));
        assert!(
            setup.status.success(),
            "{}",
            String::from_utf8_lossy(&setup.stderr)
        );
    }
    let login = |role: &str, pw: &str| common::tcp_login("45320", role, role, pw);
    let ok = login("user", &password);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "user");
    assert!(
        !login("user", "wrong-password").status.success(),
        "the role requires its password"
    );

    // The deployment's provisioning script, for a service named `order`, run twice as the superuser
    // with the password in $CREDENTIALS_DIRECTORY as systemd provides it.
    if common::nix_instantiate_available() {
        let credentials = root.join("credentials");
        std::fs::create_dir(&credentials).unwrap();
        std::fs::write(credentials.join("db-password"), "order-password").unwrap();
        let script = deployment_provision_script("order");
        for _ in 0..2 {
            let run = Command::new("bash")
                .args(["-euc", &script])
                .current_dir(root)
                .env("CREDENTIALS_DIRECTORY", &credentials)
                .env("PGHOST", root.join(".stackr/run/user"))
                .env("PGPORT", "45320")
                .env("PGUSER", "stackr")
                .output()
                .unwrap();
            assert!(
                run.status.success(),
                "{}",
                String::from_utf8_lossy(&run.stderr)
            );
        }
        let order = login("order", "order-password");
        assert_eq!(
            String::from_utf8_lossy(&order.stdout).trim(),
            "order",
            "{order:?}"
        );
    }
    let log = server_log_until(root, "user", "after the set-up");
    for secret in [password.as_str(), "order-password"] {
        assert!(
            !log.contains(secret),
            "a password is in the server's log:\n{log}"
        );
    }

    let _redis = Running(spawn(root, &command("user-redis")), "-TERM");
    assert!(
        wait_ready(root, &probe("user-redis")),
        "redis never became ready"
    );
    let anonymous = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", "45790", "ping"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&anonymous.stdout).contains("NOAUTH"),
        "redis must require its password"
    );
}

/// The log of service `service`'s dev server once a statement naming `marker`, run after
/// everything before it, is in it.
fn server_log_until(root: &Path, service: &str, marker: &str) -> String {
    let marked = bash(
        root,
        &format!("psql -X -q -h \"$PWD/.stackr/run/{service}\" -p 45320 -U stackr -d postgres -c \"SELECT '{marker}'\""),
    );
    assert!(marked.status.success(), "{marked:?}");
    let file = root.join(format!(".stackr/data/{service}/postgres/log/server.log"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = std::fs::read_to_string(&file).unwrap_or_default();
        if log.contains(marker) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "{marker} never reached the log: {log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `provisionScript name` of the module library: the shell script the `-db` unit runs.
fn deployment_provision_script(name: &str) -> String {
    let expression = format!(
        "(import {}/lib.nix {{ lib = import {}/lib; }}).provisionScript \"{name}\"",
        common::nixos::modules_dir().display(),
        common::nixos::nixpkgs_lib().display()
    );
    common::nix_eval_json(Path::new("."), &expression, "provisionScript")
        .as_str()
        .unwrap()
        .to_owned()
}
