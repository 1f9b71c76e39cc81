//! `stackr secrets` on a stack placed on several hosts (tests/fixtures/fleet): every secret the
//! hosts read, created once and private; a CA and per host a certificate that a real PostgreSQL
//! serves and a real client verifies by the host's name (and refuses for another host's name);
//! rotating the CA keeps the previous one trusted until it is retired.

use crate::common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::{fixture_config, project_with_config, stackr, stderr, stdout, tree};
use stackr_testkit::TempPostgres;

const DEPLOY: &str = ".stackr/deploy";

fn secrets(project: &Path, args: &[&str]) -> String {
    let output = stackr(project, &[&["secrets"], args].concat());
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
}

/// A PostgreSQL serving `cert`/`key` (files of the deployment folder) with TLS.
fn postgres_serving(project: &Path, cert: &str, key: &str) -> TempPostgres {
    let postgres = TempPostgres::start();
    for (source, target) in [(cert, "server.crt"), (key, "server.key")] {
        let path = postgres.data_dir().join(target);
        std::fs::copy(project.join(DEPLOY).join(source), &path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        // The server's own user (tests running as root start it as `postgres`).
        let owner = std::fs::metadata(postgres.data_dir()).unwrap();
        std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
    postgres.psql("postgres", "ALTER SYSTEM SET ssl = on");
    postgres.psql("postgres", "SELECT pg_reload_conf()");
    postgres
}

/// Connects as `name` (the name verified; the address is loopback) with `bundle` trusted, and
/// returns whether the session is TLS, or psql's error.
fn connect(postgres: &TempPostgres, name: &str, bundle: &Path) -> Result<String, String> {
    let conninfo = format!(
        "host={name} hostaddr=127.0.0.1 port={} user=postgres dbname=postgres sslmode=verify-full sslrootcert={}",
        postgres.port(),
        bundle.display()
    );
    // The reload that turns TLS on is asynchronous: wait for the server to offer it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let output = Command::new("psql")
            .args(["-X", "-t", "-A", "-d", &conninfo, "-c"])
            .arg("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .output()
            .unwrap();
        let error = String::from_utf8_lossy(&output.stderr).into_owned();
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned());
        }
        if !error.contains("does not support SSL") || std::time::Instant::now() > deadline {
            return Err(error);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn secrets_are_created_once_private_and_certificates_verify_by_host_name() {
    if !common::installed("psql") {
        eprintln!("psql not installed: skipped");
        return;
    }
    let project = project_with_config(&fixture_config("fleet"));
    secrets(project.path(), &[]);
    let deploy = project.path().join(DEPLOY);
    let first = tree(&deploy);
    for name in [
        "auth-secret",
        "core-db-password",
        "wallet-redis-password",
        "wallet-credential",
    ] {
        let value = &first[Path::new(name)];
        assert_eq!(value.len(), 48, "{name}");
        assert!(value.iter().all(u8::is_ascii_alphanumeric), "{name}");
    }
    assert_ne!(
        first[Path::new("core-db-password")],
        first[Path::new("wallet-db-password")]
    );
    for file in first.keys() {
        let mode = std::fs::metadata(deploy.join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{} is readable by others", file.display());
    }
    assert_eq!(
        std::fs::metadata(&deploy).unwrap().permissions().mode() & 0o077,
        0
    );
    assert!(stdout(&stackr(project.path(), &["secrets"]))
        .contains("every secret of the deployment exists"));
    assert_eq!(tree(&deploy), first, "a second run changes nothing");

    let bundle = deploy.join("tls-ca.crt");
    let gate = postgres_serving(
        project.path(),
        "hosts/gate/tls-host.crt",
        "hosts/gate/tls-host.key",
    );
    assert_eq!(connect(&gate, "gate", &bundle), Ok("t".to_owned()));
    let wrong_name = connect(&gate, "data", &bundle).unwrap_err();
    assert!(
        wrong_name.contains("does not match host name"),
        "{wrong_name}"
    );

    // Rotation: the old certificate stays trusted until the previous CA is retired.
    let old_bundle = project.path().join("old-bundle.crt");
    std::fs::copy(&bundle, &old_bundle).unwrap();
    secrets(project.path(), &["--rotate-ca"]);
    assert_ne!(
        tree(&deploy)[Path::new("hosts/gate/tls-host.crt")],
        first[Path::new("hosts/gate/tls-host.crt")]
    );
    assert_eq!(
        connect(&gate, "gate", &bundle),
        Ok("t".to_owned()),
        "old certificate, rotated bundle"
    );
    let rotated = postgres_serving(
        project.path(),
        "hosts/gate/tls-host.crt",
        "hosts/gate/tls-host.key",
    );
    assert_eq!(connect(&rotated, "gate", &bundle), Ok("t".to_owned()));
    assert!(
        connect(&rotated, "gate", &old_bundle).is_err(),
        "the old CA must not trust the new certificate"
    );
    secrets(project.path(), &["--retire-previous-ca"]);
    let refused = connect(&gate, "gate", &bundle).unwrap_err();
    assert!(refused.contains("certificate verify failed"), "{refused}");
    assert_eq!(connect(&rotated, "gate", &bundle), Ok("t".to_owned()));
}

#[test]
fn a_single_host_stack_is_told_it_needs_placement() {
    let project = project_with_config(&fixture_config("minimal"));
    let output = stackr(project.path(), &["secrets"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("placement"), "{}", stderr(&output));
    assert!(!project.path().join(".stackr").exists());
}
