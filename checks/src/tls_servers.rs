//! A deployment CA and host certificates made by `stackr secrets`' own code, and a real
//! PostgreSQL and redis-server serving them, for the runtime's TLS tests.
//!
//! The hosts sit on loopback addresses (127.0.0.2, …), which a config's placement refuses (other
//! machines could not reach them), so the fleet is given to the secrets code directly instead of
//! through a validated config.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stackr::commands::secrets::{create, CaAction, CA_BUNDLE};
use stackr::plan::placement::{FleetPlan, HostPlan};
use stackr_kit::testing::{find_tool, free_port, TempPostgres};

/// A deployment folder as `stackr secrets` fills it: the CA bundle and per host its certificate.
pub struct Deployment {
    dir: tempfile::TempDir,
}

impl Deployment {
    /// A new CA and a certificate for each `(name, address)`.
    pub fn create(hosts: &[(&str, &str)]) -> Deployment {
        let dir = tempfile::Builder::new()
            .prefix("stackr-deploy-")
            .tempdir()
            .expect("temp dir");
        let fleet = FleetPlan {
            hosts: hosts
                .iter()
                .map(|(name, address)| HostPlan {
                    name: (*name).to_owned(),
                    address: (*address).to_owned(),
                    tags: Vec::new(),
                })
                .collect(),
            services: Vec::new(),
            secrets_dir: ".stackr/deploy".into(),
        };
        // No project around the folder: it stands for one in the advice of a failed write.
        create(dir.path(), dir.path(), &[], &fleet, CaAction::Keep).expect("stackr secrets");
        Deployment { dir }
    }

    /// The CA bundle every host trusts (`TLS_CA_FILE`).
    pub fn ca_bundle(&self) -> PathBuf {
        self.dir.path().join(CA_BUNDLE)
    }

    pub fn host_cert(&self, host: &str) -> PathBuf {
        self.dir
            .path()
            .join("hosts")
            .join(host)
            .join("tls-host.crt")
    }

    pub fn host_key(&self, host: &str) -> PathBuf {
        self.dir
            .path()
            .join("hosts")
            .join(host)
            .join("tls-host.key")
    }
}

/// A PostgreSQL (on 127.0.0.1) with `ssl = on`, presenting `host`'s certificate.
pub fn postgres_serving(deployment: &Deployment, host: &str) -> TempPostgres {
    let postgres = TempPostgres::start();
    let owner = std::fs::metadata(postgres.data_dir()).expect("data dir");
    for (source, target) in [
        (deployment.host_cert(host), "server.crt"),
        (deployment.host_key(host), "server.key"),
    ] {
        let path = postgres.data_dir().join(target);
        std::fs::copy(source, &path).expect("copy the host certificate");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        // The server's own user (tests running as root start it as `postgres`).
        std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
    postgres.psql("postgres", "ALTER SYSTEM SET ssl = on");
    postgres.psql("postgres", "SELECT pg_reload_conf()");
    // The reload is asynchronous: wait until the server reports TLS on.
    let deadline = Instant::now() + Duration::from_secs(60);
    while postgres.psql("postgres", "SHOW ssl") != "on" {
        assert!(Instant::now() < deadline, "PostgreSQL did not turn TLS on");
        std::thread::sleep(Duration::from_millis(100));
    }
    postgres
}

/// A redis-server listening with TLS only (no plain port) on `addresses`, presenting `host`'s
/// certificate and requiring `password`. Killed on drop.
pub struct TlsRedis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TlsRedis {
    pub fn start(deployment: &Deployment, host: &str, addresses: &[&str], password: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("stackr-redis-tls-")
            .tempdir()
            .expect("temp dir");
        let port = free_port();
        let child = Command::new(find_tool("redis-server"))
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .arg("--bind")
            .args(addresses)
            .arg("--tls-cert-file")
            .arg(deployment.host_cert(host))
            .arg("--tls-key-file")
            .arg(deployment.host_key(host))
            .arg("--tls-ca-cert-file")
            .arg(deployment.ca_bundle())
            .args(["--tls-auth-clients", "no", "--requirepass", password])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let redis = TlsRedis {
            child,
            port,
            _dir: dir,
        };
        redis.wait_listening(addresses[0]);
        redis
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn wait_listening(&self, address: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect((address, self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen with TLS on {address}:{} within 60 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path as a string, for URLs and environment lookups.
pub fn path_str(path: &Path) -> String {
    path.to_str().expect("temp paths are UTF-8").to_owned()
}
