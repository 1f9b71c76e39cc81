use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rand::distr::{Alphanumeric, SampleString};

use super::tools::running_as_root;
use super::{find_tool, free_port};

/// A PostgreSQL cluster in a temp dir, listening on a free loopback port, stopped on drop.
///
/// The superuser is `postgres`, so tests can create roles with passwords and databases they then
/// reach with password authentication (role isolation is tested for real). Every role, the
/// superuser too, presents its password over TCP: any local user can reach the port, and a
/// trusted superuser could run programs as whoever runs the tests. Its password is random, made
/// for this server, and part of [`TempPostgres::superuser_url`].
pub struct TempPostgres {
    dir: tempfile::TempDir,
    port: u16,
    superuser_password: String,
}

impl TempPostgres {
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("stackr-pg-")
            .tempdir()
            .expect("temp dir");
        let data = dir.path().join("data");
        let sock = dir.path().join("sock");
        std::fs::create_dir_all(&sock).expect("socket dir");
        if running_as_root() {
            chown_to_postgres(dir.path());
        }
        let port = free_port();
        let superuser_password = Alphanumeric.sample_string(&mut rand::rng(), 32);
        // In the temp dir, which only its owner (and, as root, the server's user) can enter.
        let password_file = dir.path().join("superuser-password");
        std::fs::write(&password_file, &superuser_password).expect("write the password file");
        if running_as_root() {
            chown_to_postgres(&password_file);
        }
        run(pg_command("initdb")
            .args(["-D"])
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--pwfile",
            ])
            .arg(&password_file)
            .args(["--no-sync", "--encoding=UTF8", "--locale=C"]));
        std::fs::remove_file(&password_file).expect("remove the password file");
        // Trust only the superuser, only through the socket in the private temp dir; a password
        // for every other role there (as a deployed service's own server asks), and for
        // everyone on TCP.
        let hba = "local all postgres trust\n\
                   local all all scram-sha-256\n\
                   host all all 127.0.0.1/32 scram-sha-256\n";
        std::fs::write(data.join("pg_hba.conf"), hba).expect("write pg_hba.conf");
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off \
             -c synchronous_commit=off -c max_connections=300",
            sock.display()
        );
        run(pg_command("pg_ctl")
            .args(["-D"])
            .arg(&data)
            .args(["-w", "-t", "120", "-l"])
            .arg(dir.path().join("server.log"))
            .args(["-o", &opts, "start"]));
        TempPostgres {
            dir,
            port,
            superuser_password,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password, for clients given it apart from a URL (`PGPASSWORD`).
    pub fn superuser_password(&self) -> &str {
        &self.superuser_password
    }

    /// Superuser URL, with its password.
    pub fn superuser_url(&self, database: &str) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{database}",
            self.superuser_password, self.port
        )
    }

    /// `psql` as the superuser on `database`, through the private socket: a password on its
    /// command line would be there for every local user to read.
    pub fn psql_command(&self, database: &str) -> Command {
        let mut command = Command::new(find_tool("psql"));
        command
            .args(["-X", "-U", "postgres", "-h"])
            .arg(self.socket_dir())
            .args(["-p", &self.port.to_string(), "-d", database]);
        command
    }

    /// Runs SQL as the superuser through `psql`, panicking with psql's error on failure.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let out = self
            .psql_command(database)
            .args(["-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"])
            .args(["-c", sql])
            .output()
            .expect("spawn psql");
        assert!(
            out.status.success(),
            "psql failed on `{sql}`: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Creates a database owned by the superuser and returns its superuser URL.
    pub fn create_database(&self, name: &str) -> String {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        self.superuser_url(name)
    }

    /// Creates a login role with a password and a database it owns, with CONNECT revoked from
    /// PUBLIC (the isolation a stackr service gets), and returns the role's URL.
    pub fn create_service_database(&self, name: &str, password: &str) -> String {
        let pw = password.replace('\'', "''");
        self.psql(
            "postgres",
            &format!("CREATE ROLE \"{name}\" LOGIN PASSWORD '{pw}'"),
        );
        self.psql(
            "postgres",
            &format!("CREATE DATABASE \"{name}\" OWNER \"{name}\""),
        );
        self.psql(
            "postgres",
            &format!("REVOKE CONNECT ON DATABASE \"{name}\" FROM PUBLIC"),
        );
        format!(
            "postgres://{name}:{password}@127.0.0.1:{}/{name}",
            self.port
        )
    }

    /// The folder of the server's Unix socket (`.s.PGSQL.<port>`).
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Stops the server now (tests of "the database went away").
    pub fn stop(&self) {
        let _ = pg_command("pg_ctl")
            .args(["-D"])
            .arg(self.data_dir())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn pg_command(tool: &str) -> Command {
    let bin = find_tool(tool);
    if running_as_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(bin);
        cmd
    } else {
        Command::new(bin)
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("spawn PostgreSQL tool");
    assert!(
        out.status.success(),
        "{:?} failed: {}{}",
        cmd.get_program(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn chown_to_postgres(path: &Path) {
    let status = Command::new("chown")
        .args([
            OsStr::new("-R"),
            OsStr::new("postgres:postgres"),
            path.as_os_str(),
        ])
        .status()
        .expect("spawn chown");
    assert!(status.success(), "chown postgres {}", path.display());
}
