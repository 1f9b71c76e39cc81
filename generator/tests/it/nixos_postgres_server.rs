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
use stackr_testkit::free_port;

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

/// A PostgreSQL server under test, stopped on drop.
struct Server(Child);

impl Server {
    /// Starts `command` (a server) with its output in `log` and waits up to a minute for it to
    /// accept connections on `socket_dir` and `port`; a server that stops or never accepts fails
    /// the test with what it wrote.
    fn start(
        mut command: Command,
        log: &std::path::Path,
        socket_dir: &str,
        port: &str,
        what: &str,
    ) -> Server {
        let output = std::fs::File::create(log).unwrap();
        let mut server = Server(
            command
                .stdout(Stdio::null())
                .stderr(output)
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while !Command::new("pg_isready")
            .args(["-q", "-h", socket_dir, "-p", port])
            .status()
            .unwrap()
            .success()
        {
            let stopped = server.0.try_wait().unwrap();
            assert!(
                stopped.is_none() && Instant::now() < deadline,
                "{what}: the server on port {port} never accepted connections ({}):\n{}",
                stopped.map_or("still running".to_owned(), |status| status.to_string()),
                std::fs::read_to_string(log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// Whether nix-instantiate and PostgreSQL's programs are here (else the test says it is skipped).
fn can_run() -> bool {
    let here = nix_instantiate_available()
        && ["initdb", "postgres", "psql", "pg_isready"]
            .iter()
            .all(|t| common::installed(t));
    if !here {
        eprintln!("nix-instantiate or PostgreSQL not installed: skipped");
    }
    here
}

#[test]
fn own_server_admits_only_the_service_role() {
    if !can_run() {
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

    let dir = server_folders("own-postgres-", "core-password");
    let here = |name: &str| dir.path().join(name).display().to_string();
    // The unit's own paths and user, moved into the test's folder.
    let localise = |script: String| {
        script
            .replace(&data, &here("data"))
            .replace(&socket, &here("run"))
            .replace(&os_user, &server_os_user())
    };
    let port = free_port().to_string();
    let env = server_env(dir.path(), &port, env_of(db_unit, "PGUSER"));
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
        let _server = Server::start(
            as_server_user(&start, &env),
            &dir.path().join("server.log"),
            &here("run"),
            &port,
            boot,
        );
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

        let own = common::login(&here("run"), &port, "core", "core", "core-password");
        assert_eq!(
            String::from_utf8_lossy(&own.stdout).trim(),
            "core",
            "{boot}: {own:?}"
        );
        assert!(
            !common::login(&here("run"), &port, "core", "core", "wrong")
                .status
                .success(),
            "{boot}: wrong password"
        );
        assert!(
            !common::login(&here("run"), &port, "core", "postgres", "core-password")
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
            !common::login(&here("run"), &port, "intruder", "core", "x")
                .status
                .success(),
            "{boot}: other role"
        );
        assert!(
            !common::login(&here("run"), &port, "postgres", "core", "")
                .status
                .success(),
            "{boot}: the superuser as another identity"
        );
        // No TCP listener: nothing another local user could stand in for while it is down.
        assert!(
            !Command::new("pg_isready")
                .args(["-q", "-h", "127.0.0.1", "-p", &port])
                .status()
                .unwrap()
                .success(),
            "{boot}: the server listens on loopback TCP"
        );
    }
}

/// The documented backup and restore (docs/deploy.md, Backups and restores): `stackr-postgres`,
/// the command a host gets for each database on it, dumps the service's database with the
/// server's own pg_dump as the server's superuser, and restores it over a database changed since,
/// owned by the service's role again. Without it nothing on the host reaches a per-service
/// server as its superuser (pg_ident admits only the server's own identity, through a socket
/// whose folder only its group enters). The command's program folder, identity, socket folder and
/// port are the test's own; the script is otherwise the host's. Run as root only (the command
/// changes identity).
#[test]
fn own_server_is_dumped_and_restored_with_the_hosts_command() {
    if !can_run()
        || !["pg_dump", "pg_restore"]
            .iter()
            .all(|t| common::installed(t))
    {
        return;
    }
    if !is_root() {
        eprintln!("not root: the command changes identity; skipped");
        return;
    }
    let project = generated_project(&fixture_config("minimal"));
    let system = evaluate_system(&modules_dir(), project.path(), "{ }").unwrap();
    let unit = &system["units"]["stackr-core-postgresql"];
    let db_unit = &system["units"]["stackr-core-db"];
    let env_of = |unit: &Value, key: &str| unit["environment"][key].as_str().unwrap().to_owned();
    let (data, socket) = (env_of(unit, "PGDATA"), env_of(db_unit, "PGHOST"));
    let os_user = unit["serviceConfig"]["User"].as_str().unwrap().to_owned();
    let exec_start = unit["serviceConfig"]["ExecStart"].as_str().unwrap();
    let server_bin = exec_start
        .split_whitespace()
        .next()
        .unwrap()
        .strip_suffix("postgres")
        .unwrap()
        .to_owned();
    let command = system["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "stackr-postgres")
        .and_then(|p| p["text"].as_str())
        .expect("the host has a stackr-postgres command")
        .to_owned();

    let dir = server_folders("own-postgres-dump-", "core-password");
    let port = free_port().to_string();
    let here = |name: &str| dir.path().join(name).display().to_string();
    // The folder the server's program really is in, which holds its pg_dump and pg_restore too:
    // a machine may link `postgres` alone into a folder on PATH.
    let installed_bin = Command::new("bash")
        .args([
            "-c",
            "dirname \"$(readlink -f \"$(command -v postgres)\")\"",
        ])
        .output()
        .unwrap();
    let installed_bin = format!("{}/", String::from_utf8_lossy(&installed_bin.stdout).trim());
    let localise = |script: &str| {
        script
            .replace(&data, &here("data"))
            .replace(&socket, &here("run"))
            .replace(&os_user, &server_os_user())
            .replace(&server_bin, &installed_bin)
            .replace(&env_of(unit, "PGPORT"), &port)
    };
    let command = localise(&command);
    // The tools the command names by store path, from this machine's PATH.
    let command = without_store_bins(&command);
    let env = server_env(dir.path(), &port, env_of(db_unit, "PGUSER"));
    succeeded(
        as_server_user(&localise(unit["preStart"].as_str().unwrap()), &env)
            .output()
            .unwrap(),
        "preStart",
    );
    let program_args: Vec<String> = exec_start
        .split_whitespace()
        .skip(1)
        .map(localise)
        .collect();
    let _server = Server::start(
        as_server_user(&format!("exec postgres {}", program_args.join(" ")), &env),
        &dir.path().join("server.log"),
        &here("run"),
        &port,
        "start",
    );
    succeeded(
        as_server_user(&localise(db_unit["script"].as_str().unwrap()), &env)
            .output()
            .unwrap(),
        "stackr-core-db",
    );
    // The service's own data, as its API would write it: its role's table.
    let as_core = |sql: &str| {
        let out = Command::new("psql")
            .args([
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-tA",
                "-h",
                &here("run"),
                "-p",
                &port,
            ])
            .args(["-U", "core", "-d", "core", "-c", sql])
            .env("PGPASSWORD", "core-password")
            .output()
            .unwrap();
        succeeded(out.clone(), sql);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    as_core(
        "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'kept')",
    );

    // The root shell's own redirections, as the documentation writes them.
    let dump = here("core.dump");
    let run = |arguments: &str| {
        Command::new("bash")
            .args([
                "-c",
                &format!("bash -c \"$1\" stackr-postgres {arguments}"),
                "-",
                &command,
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .output()
            .unwrap()
    };
    succeeded(
        run(&format!("core pg_dump --format=custom > {dump}")),
        "dump",
    );
    assert!(std::fs::metadata(&dump).unwrap().len() > 0, "an empty dump");

    as_core("UPDATE notes SET body = 'changed'; INSERT INTO notes VALUES (2, 'later')");
    succeeded(
        run(&format!(
            "core pg_restore --clean --if-exists --single-transaction --dbname=core < {dump}"
        )),
        "restore",
    );
    assert_eq!(
        as_core("SELECT string_agg(id || ':' || body, ',') FROM notes"),
        "1:kept"
    );
    assert_eq!(
        as_core("SELECT tableowner FROM pg_tables WHERE tablename = 'notes'"),
        "core",
        "the restored table is the service role's"
    );

    // A renamed service (docs/deploy.md, Removing or renaming a service): the dump of the old
    // name restored into the new name's database, which its API has already migrated, owned by
    // the new name's role. Made here on the same server, as the `-db` unit of `renamed` would.
    succeeded(
        run("core psql -X -v ON_ERROR_STOP=1 -c 'CREATE ROLE renamed LOGIN' -c 'CREATE DATABASE renamed OWNER renamed'"),
        "the renamed service's role and database",
    );
    succeeded(
        run("core psql -X -v ON_ERROR_STOP=1 --dbname=renamed -c 'SET ROLE renamed' -c 'CREATE TABLE notes (id int PRIMARY KEY, body text)'"),
        "the renamed service's migration",
    );
    succeeded(
        run(&format!(
            "core pg_restore --clean --if-exists --no-owner --role=renamed --single-transaction --dbname=renamed < {dump}"
        )),
        "restore under the new name",
    );
    let in_renamed = |sql: &str| {
        let out = run(&format!("core psql -X -tA --dbname=renamed -c \"{sql}\""));
        succeeded(out.clone(), sql);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(
        in_renamed("SELECT string_agg(id || ':' || body, ',') FROM notes"),
        "1:kept"
    );
    assert_eq!(
        in_renamed("SELECT tableowner FROM pg_tables WHERE tablename = 'notes'"),
        "renamed"
    );

    // Anything but one of this host's databases and PostgreSQL's client programs is refused.
    for wrong in ["blog psql", "core postgres", "core"] {
        let out = run(wrong);
        assert!(!out.status.success(), "`stackr-postgres {wrong}` ran");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("usage: stackr-postgres"),
            "{wrong}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `script` with every `/nix/store/<hash>-<name>/bin/` prefix dropped: its programs found on PATH.
fn without_store_bins(script: &str) -> String {
    let store = "/nix/store/";
    let mut out = String::new();
    let mut rest = script;
    while let Some(at) = rest.find(store) {
        out.push_str(&rest[..at]);
        let after = &rest[at + store.len()..];
        match after.find("/bin/") {
            Some(end) if !after[..end].contains(char::is_whitespace) => {
                rest = &after[end + "/bin/".len()..];
            }
            _ => {
                out.push_str(store);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Shared mode on a long-lived system server whose `password_encryption` is still md5 (the
/// default before PostgreSQL 14, kept by an upgraded `postgresql.conf`): the `-db` unit's script
/// must still store the role's password as a SCRAM verifier, since stackr's pg_hba rules ask for
/// scram-sha-256 and refuse an md5 hash. Runs a real PostgreSQL with the merged pg_hba text of
/// the evaluated system (nixpkgs' header and defaults included) and the `-db` unit's script.
#[test]
fn shared_server_with_md5_encryption_stores_a_scram_password() {
    if !can_run() {
        return;
    }
    let shared = SharedServer::start(&["-c", "password_encryption=md5"]);
    succeeded(shared.provision(), "stackr-blog-db");

    let stored = shared.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'blog'");
    assert!(
        stored.starts_with("SCRAM-SHA-256$"),
        "blog's password is stored as `{}…`, which the scram-sha-256 rules refuse",
        stored.get(..6).unwrap_or(&stored)
    );
    for host in [shared.here("run"), "127.0.0.1".to_owned()] {
        shared.assert_service_logs_in(&host);
    }
}

/// Shared mode on a system server whose host logs every statement (`log_statement`, or every
/// statement's duration): the `-db` unit sets the role's password with a statement that holds
/// it in clear, which must not reach the server's log, readable by whoever reads the host's logs.
/// The host's own statements are still logged.
#[test]
fn shared_server_logging_every_statement_logs_no_password() {
    if !can_run() {
        return;
    }
    let shared = SharedServer::start(&[
        "-c",
        "log_statement=all",
        "-c",
        "log_min_duration_statement=0",
        "-c",
        "log_min_error_statement=debug5",
        "-c",
        "logging_collector=on",
        "-c",
        "log_filename=server.log",
    ]);
    succeeded(shared.provision(), "stackr-blog-db");
    succeeded(shared.provision(), "stackr-blog-db, again");
    let marker = "a statement of the host";
    shared.query(&format!("SELECT '{marker}'"));
    let log_file = std::path::Path::new(&shared.here("data")).join("log/server.log");
    let deadline = Instant::now() + Duration::from_secs(30);
    let log = loop {
        let log = std::fs::read_to_string(&log_file).unwrap_or_default();
        if log.contains(marker) {
            break log;
        }
        assert!(
            Instant::now() < deadline,
            "the marker never reached the log: {log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        !log.contains("blog-password"),
        "the password is in the log:\n{log}"
    );
    shared.assert_service_logs_in(&shared.here("run"));
}

/// Shared mode on a system server that already has a role or database under a service's name
/// which stackr never makes (a role with more than LOGIN: superuser, or a member of another
/// role; a database another role owns): the `-db` unit's script stops before it sets a password
/// or creates anything, naming what it found and what to do, instead of taking over a role of the
/// host's (the service's API, with that password, would hold its powers). Once the host's role and
/// database are gone, the same script provisions the service.
#[test]
fn shared_server_refuses_a_hosts_role_or_database_under_a_services_name() {
    if !can_run() {
        return;
    }
    let shared = SharedServer::start(&[]);
    for (found, made, undo, says) in [
        (
            "a superuser",
            "CREATE ROLE blog SUPERUSER LOGIN",
            "DROP ROLE blog",
            "privileges",
        ),
        (
            "a member of another role",
            "CREATE ROLE blog LOGIN; GRANT pg_read_all_data TO blog",
            "DROP ROLE blog",
            "member",
        ),
        (
            "a database another role owns",
            "CREATE ROLE shop; CREATE DATABASE blog OWNER shop",
            "DROP DATABASE blog; DROP ROLE shop",
            "owned by",
        ),
    ] {
        for statement in made.split("; ") {
            shared.query(statement);
        }
        let output = shared.provision();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && stderr.contains("blog") && stderr.contains(says),
            "{found}: {output:?}"
        );
        assert_eq!(
            shared.query(
                "SELECT count(*) FROM pg_authid WHERE rolname = 'blog' AND rolpassword IS NOT NULL"
            ),
            "0",
            "{found}: a password was set"
        );
        for statement in undo.split("; ") {
            shared.query(statement);
        }
    }
    succeeded(shared.provision(), "stackr-blog-db on a clean server");
    shared.assert_service_logs_in(&shared.here("run"));
}

/// Shared mode on a real server with the merged pg_hba text (nixpkgs' defaults after stackr's
/// lines: `local all all peer`, `host all all 127.0.0.1/32 md5`): the service's role, with its
/// password, logs in to its own database and to no other, neither the server's own (`postgres`,
/// `template1`) nor one of the host's, through the socket or over TCP; each refusal is a pg_hba
/// `reject` line's, so through the socket it does not depend on the OS account's name (peer
/// would let an account named like the role in). The `-db` unit, logging in as `postgres`
/// through the socket, still provisions the service.
#[test]
fn shared_server_admits_the_service_role_only_to_its_own_database() {
    if !can_run() {
        return;
    }
    let shared = SharedServer::start(&[]);
    succeeded(shared.provision(), "stackr-blog-db");
    shared.query("CREATE DATABASE hostdb");
    for host in ["127.0.0.1".to_owned(), shared.here("run")] {
        shared.assert_service_logs_in(&host);
        for database in ["postgres", "template1", "hostdb"] {
            let login = common::login(&host, &shared.port, "blog", database, "blog-password");
            let stderr = String::from_utf8_lossy(&login.stderr);
            assert!(
                !login.status.success() && stderr.contains("pg_hba.conf rejects connection"),
                "blog to {database} through {host}: {login:?}"
            );
        }
    }
}

/// A real PostgreSQL set up as the system server of shared mode (superuser `postgres`, the
/// merged pg_hba text of the evaluated system with nixpkgs' header and defaults), and the script
/// of the fixture's `stackr-blog-db` unit.
struct SharedServer {
    dir: tempfile::TempDir,
    port: String,
    env: Vec<(&'static str, String)>,
    script: String,
    _server: Server,
}

impl SharedServer {
    fn start(settings: &[&str]) -> SharedServer {
        let port = free_port().to_string();
        let project = generated_project(&fixture_config("shared-postgres"));
        let system = evaluate_system(&modules_dir(), project.path(), "{ }").unwrap();
        let script = system["units"]["stackr-blog-db"]["script"]
            .as_str()
            .unwrap()
            .to_owned();
        let hba = system["postgresql"]["authentication"]
            .as_str()
            .unwrap()
            .to_owned();
        let dir = server_folders("shared-postgres-", "blog-password");
        let here = |name: &str| dir.path().join(name).display().to_string();
        let env = vec![
            ("PGDATA", here("data")),
            ("PGHOST", here("run")),
            ("PGPORT", port.clone()),
            ("CREDENTIALS_DIRECTORY", here("credentials")),
            ("PATH", std::env::var("PATH").unwrap()),
        ];
        // The system server's superuser is `postgres`; nixpkgs maps its OS user to it
        // (`map=postgres`).
        let setup = format!(
            "initdb --username=postgres --encoding=UTF8 --no-locale --auth=reject >/dev/null\n\
             cat > \"$PGDATA/pg_hba.conf\" <<'HBA'\n{hba}\nHBA\n\
             echo 'postgres {os} postgres' > \"$PGDATA/pg_ident.conf\"\n",
            os = server_os_user()
        );
        succeeded(as_server_user(&setup, &env).output().unwrap(), "initdb");
        let server = Server::start(
            as_server_user(
                &format!(
                    "exec postgres -c listen_addresses=127.0.0.1 -c unix_socket_directories={} {}",
                    here("run"),
                    settings.join(" ")
                ),
                &env,
            ),
            &dir.path().join("server.log"),
            &here("run"),
            &port,
            "the shared server",
        );
        SharedServer {
            dir,
            port,
            env,
            script,
            _server: server,
        }
    }

    fn here(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Asserts that the service's role logs in with its password through `host` (the socket
    /// folder or an address).
    fn assert_service_logs_in(&self, host: &str) {
        let own = common::login(host, &self.port, "blog", "blog", "blog-password");
        assert_eq!(
            String::from_utf8_lossy(&own.stdout).trim(),
            "blog",
            "through {host}: {own:?}"
        );
    }

    /// Runs the `-db` unit's script.
    fn provision(&self) -> Output {
        as_server_user(&self.script, &self.env).output().unwrap()
    }

    /// Runs `sql` as the superuser; its one value (empty for none).
    fn query(&self, sql: &str) -> String {
        let output = as_server_user(
            "psql -X -tA -v ON_ERROR_STOP=1 -d postgres -c \"$SQL\"",
            &[self.env.clone(), vec![("SQL", sql.to_owned())]].concat(),
        )
        .output()
        .unwrap();
        succeeded(output.clone(), sql);
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

/// A service's own server whose data folder another major version of PostgreSQL made (the
/// package moved: a new `stackr.postgresql.package`, or its default with `system.stateVersion`)
/// stops in the unit's preStart, before PostgreSQL's own error, with a message naming the folder,
/// both versions and pg_upgrade, and leaves the folder as it was; a folder of the server's own
/// major version starts. The server's version is that of the `postgres` the unit runs (here the
/// installed one), so the folder's PG_VERSION is written to another major by hand.
#[test]
fn own_server_refuses_a_data_folder_of_another_major_version() {
    if !nix_instantiate_available() || !["initdb", "postgres"].iter().all(|t| common::installed(t))
    {
        eprintln!("nix-instantiate or PostgreSQL not installed: skipped");
        return;
    }
    let version = Command::new("postgres").arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    let major: u32 = version
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.split('.').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("postgres --version: {version}"));
    let project = generated_project(&fixture_config("minimal"));
    let system = evaluate_system(&modules_dir(), project.path(), "{ }").unwrap();
    let unit = &system["units"]["stackr-core-postgresql"];
    let data = unit["environment"]["PGDATA"].as_str().unwrap();
    let os_user = unit["serviceConfig"]["User"].as_str().unwrap();

    let dir = tempfile::Builder::new()
        .prefix("own-postgres-version-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let folder = dir.path().join("data");
    std::fs::create_dir(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
    let pre_start = unit["preStart"]
        .as_str()
        .unwrap()
        .replace(data, &folder.display().to_string())
        .replace(os_user, &server_os_user());
    let env = [
        ("PGDATA", folder.display().to_string()),
        ("PATH", std::env::var("PATH").unwrap()),
    ];
    let chown = || {
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
    };

    let other = major - 1;
    std::fs::write(folder.join("PG_VERSION"), format!("{other}\n")).unwrap();
    chown();
    let refused = as_server_user(&pre_start, &env).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "a PostgreSQL {major} server was let start on a folder of {other}"
    );
    for wanted in [
        folder.display().to_string(),
        format!("PostgreSQL {other}"),
        format!("PostgreSQL {major}"),
        "pg_upgrade".to_owned(),
        "stackr.postgresql.package".to_owned(),
    ] {
        assert!(stderr.contains(&wanted), "`{wanted}` in: {stderr}");
    }
    let left: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["PG_VERSION"], "the refused folder was changed");

    // The server's own major version: it goes on (the rules are written).
    std::fs::write(folder.join("PG_VERSION"), format!("{major}\n")).unwrap();
    chown();
    succeeded(
        as_server_user(&pre_start, &env).output().unwrap(),
        "a folder of the server's own version",
    );
    assert!(folder.join("pg_hba.conf").is_file());
}

/// The environment a server's units run in, with the folders of [`server_folders`] in `dir` and
/// `user` as the `-db` unit's `PGUSER`.
fn server_env(dir: &std::path::Path, port: &str, user: String) -> [(&'static str, String); 6] {
    let here = |name: &str| dir.join(name).display().to_string();
    [
        ("PGDATA", here("data")),
        ("PGHOST", here("run")),
        ("PGPORT", port.to_owned()),
        ("PGUSER", user),
        ("CREDENTIALS_DIRECTORY", here("credentials")),
        ("PATH", std::env::var("PATH").unwrap()),
    ]
}

/// A server's folders as its units get them (`data`, `run`, `credentials` holding the role's
/// `db-password`), 0700 and, when run as root, the `postgres` user's, in a folder every user may
/// enter.
fn server_folders(prefix: &str, password: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    for folder in ["data", "run", "credentials"] {
        std::fs::create_dir(dir.path().join(folder)).unwrap();
        std::fs::set_permissions(
            dir.path().join(folder),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("credentials/db-password"), password).unwrap();
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
    dir
}
