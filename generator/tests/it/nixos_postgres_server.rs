//! Runs a service's own PostgreSQL server the way the module library's units define it (the
//! server's preStart and ExecStart, then the script of its `-db` unit, taken from the evaluated
//! NixOS system) against a real
//! PostgreSQL, twice (first boot, then a restart), and checks the isolation it promises: the
//! service's role logs in over TCP with its password only, and neither the superuser nor any
//! other role gets in over TCP. Paths, port and the server's OS user are the test's own; the
//! scripts are otherwise unchanged. Skipped without nix-instantiate or PostgreSQL.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::nixos::{evaluate_system, modules_dir};
use common::{fixture_config, generated_project, nix_instantiate_available};
use serde_json::Value;

const PORT: &str = "45410";

/// Runs `script` with bash as the server's OS user (`postgres` when the tests run as root:
/// PostgreSQL refuses to run as root), with `env`.
fn as_server_user(script: &str, env: &[(&str, String)]) -> Command {
    let mut command = if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--clear-groups",
            "--",
            "bash",
            "-euc",
            script,
        ]);
        c
    } else {
        let mut c = Command::new("bash");
        c.args(["-euc", script]);
        c
    };
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

fn server_os_user() -> String {
    if is_root() {
        "postgres".to_owned()
    } else {
        String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_owned()
    }
}

fn succeeded(output: Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

#[test]
fn own_server_admits_only_the_service_role() {
    if !nix_instantiate_available()
        || !["initdb", "postgres", "psql", "pg_isready"]
            .iter()
            .all(|t| common::installed(t))
    {
        eprintln!("nix-instantiate or PostgreSQL not installed: skipped");
        return;
    }
    let project = generated_project(&fixture_config("minimal"));
    let system = evaluate_system(&modules_dir(), project.path(), "{ }").unwrap();
    let unit = &system["units"]["stackr-core-postgresql"];
    let db_unit = &system["units"]["stackr-core-db"];
    let text = |key: &str| unit[key].as_str().unwrap().to_owned();
    let env_of = |unit: &Value, key: &str| unit["environment"][key].as_str().unwrap().to_owned();
    let (data, socket) = (env_of(unit, "PGDATA"), env_of(db_unit, "PGHOST"));
    assert_eq!(
        db_unit["serviceConfig"]["User"], unit["serviceConfig"]["User"],
        "the -db unit runs as the server's identity, which pg_ident maps to the superuser"
    );
    let os_user = unit["serviceConfig"]["User"].as_str().unwrap().to_owned();

    let dir = tempfile::Builder::new()
        .prefix("own-postgres-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let here = |name: &str| dir.path().join(name).display().to_string();
    for folder in ["data", "run", "credentials"] {
        std::fs::create_dir(dir.path().join(folder)).unwrap();
        std::fs::set_permissions(
            dir.path().join(folder),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("credentials/db-password"), "core-password").unwrap();
    if is_root() {
        succeeded(
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .output()
                .unwrap(),
            "chown",
        );
    }
    // The unit's own paths and user, moved into the test's folder.
    let localise = |script: String| {
        script
            .replace(&data, &here("data"))
            .replace(&socket, &here("run"))
            .replace(&os_user, &server_os_user())
    };
    let env = [
        ("PGDATA", here("data")),
        ("PGHOST", here("run")),
        ("PGPORT", PORT.to_owned()),
        ("PGUSER", env_of(db_unit, "PGUSER")),
        ("CREDENTIALS_DIRECTORY", here("credentials")),
        ("PATH", std::env::var("PATH").unwrap()),
    ];
    let exec_start = localise(
        unit["serviceConfig"]["ExecStart"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let program_args: Vec<&str> = exec_start.split_whitespace().skip(1).collect();
    let start = format!("exec postgres {}", program_args.join(" "));

    for boot in ["first start", "restart"] {
        succeeded(
            as_server_user(&localise(text("preStart")), &env)
                .output()
                .unwrap(),
            boot,
        );
        let _server = Server(
            as_server_user(&start, &env)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while !Command::new("pg_isready")
            .args(["-q", "-h", &here("run"), "-p", PORT])
            .status()
            .unwrap()
            .success()
        {
            assert!(
                Instant::now() < deadline,
                "{boot}: the server never accepted connections"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        succeeded(
            as_server_user(
                &localise(db_unit["script"].as_str().unwrap().to_owned()),
                &env,
            )
            .output()
            .unwrap(),
            boot,
        );

        // Without a readable credential the setup fails rather than clearing the password.
        let no_credentials = as_server_user(
            &localise(db_unit["script"].as_str().unwrap().to_owned()),
            &env,
        )
        .env("CREDENTIALS_DIRECTORY", here("run"))
        .output()
        .unwrap();
        assert!(
            !no_credentials.status.success(),
            "{boot}: the setup ran without its credential"
        );

        let own = common::login(&here("run"), PORT, "core", "core", "core-password");
        assert_eq!(
            String::from_utf8_lossy(&own.stdout).trim(),
            "core",
            "{boot}: {own:?}"
        );
        assert!(
            !common::login(&here("run"), PORT, "core", "core", "wrong")
                .status
                .success(),
            "{boot}: wrong password"
        );
        assert!(
            !common::login(&here("run"), PORT, "core", "postgres", "core-password")
                .status
                .success(),
            "{boot}: other database"
        );
        // Another role with a password, as a careless migration might create, is still refused.
        succeeded(
            as_server_user(
                "psql -X -q -v ON_ERROR_STOP=1 -d postgres -c \"DROP ROLE IF EXISTS intruder; CREATE ROLE intruder LOGIN PASSWORD 'x'\"",
                &env,
            )
            .output()
            .unwrap(),
            "create intruder",
        );
        assert!(
            !common::login(&here("run"), PORT, "intruder", "core", "x")
                .status
                .success(),
            "{boot}: other role"
        );
        assert!(
            !common::login(&here("run"), PORT, "postgres", "core", "")
                .status
                .success(),
            "{boot}: the superuser as another identity"
        );
        // No TCP listener: nothing another local user could stand in for while it is down.
        assert!(
            !Command::new("pg_isready")
                .args(["-q", "-h", "127.0.0.1", "-p", PORT])
                .status()
                .unwrap()
                .success(),
            "{boot}: the server listens on loopback TCP"
        );
    }
}
