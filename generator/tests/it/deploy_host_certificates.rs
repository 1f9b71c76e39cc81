//! `stackr secrets` and a host's certificate or key put in place by hand (copied from another
//! host, another deployment or a backup from before a CA rotation, a key made anew, a certificate
//! made with other dates or names): each was kept as it was and uploaded, and the fleet failed
//! at TLS handshake time, on the hosts, far from the cause. Each is refused before anything is
//! written, naming the file, the host and what is wrong; removed, the host gets a new certificate
//! and key, as one removed for any reason does.

use std::path::Path;
use std::process::Command;

use crate::common;
use crate::deploy_secrets::{project_in_git, refusal, secrets, DEPLOY};
use common::{fixture_config, stderr, tree};

/// Checks that `stackr secrets` in `project` is refused with a message naming the deployment
/// folder's `file` and holding each of `said`, telling to remove it; that nothing in the folder
/// changed, nor a missing secret was made; and that once `file` is removed a run issues the host
/// a new certificate, which the next run keeps.
fn refused_until_removed(project: &Path, file: &str, said: &[&str]) {
    let deploy = project.join(DEPLOY);
    let missing = deploy.join("wallet-db-password");
    let _ = std::fs::remove_file(&missing);
    let before = tree(&deploy);
    let message = refusal(project);
    assert!(
        message.contains(&format!("{DEPLOY}/{file}"))
            && message.contains("remove it and run `stackr secrets` again"),
        "{file}: {message}"
    );
    for words in said {
        assert!(message.contains(words), "{words:?}: {message}");
    }
    assert_eq!(tree(&deploy), before, "{file}: the refusing run wrote");
    assert!(!missing.exists(), "{file}: a secret was written");

    let host = file.split('/').nth(1).expect("hosts/<host>/…");
    let refused = std::fs::read(deploy.join(format!("hosts/{host}/tls-host.crt"))).unwrap();
    std::fs::remove_file(deploy.join(file)).unwrap();
    let output = secrets(project, &[]);
    assert!(
        output.contains(&format!("renewed {host}'s certificate")),
        "{output}"
    );
    let issued = std::fs::read(deploy.join(format!("hosts/{host}/tls-host.crt"))).unwrap();
    assert_ne!(issued, refused, "{output}");
    secrets(project, &[]);
    assert_eq!(
        std::fs::read(deploy.join(format!("hosts/{host}/tls-host.crt"))).unwrap(),
        issued,
        "the new certificate is kept"
    );
}

/// Copies the files `names` of `from` (a deployment folder) over those of `to`.
fn copy(from: &Path, to: &Path, names: &[(&str, &str)]) {
    for (source, target) in names {
        std::fs::copy(from.join(source), to.join(target)).unwrap();
    }
}

/// The fleet fixture's project, in git, after a first `stackr secrets`; and its deployment folder.
fn fleet_with_secrets() -> (tempfile::TempDir, std::path::PathBuf) {
    let project = project_in_git(&fixture_config("fleet"));
    secrets(project.path(), &[]);
    let deploy = project.path().join(DEPLOY);
    (project, deploy)
}

const GATE_CERT: &str = "hosts/gate/tls-host.crt";
const GATE_KEY: &str = "hosts/gate/tls-host.key";

/// Every host whose certificate or key would fail is named in one run: one was named a run, so
/// with several put in place by hand (a backup restored over the folder) each came to light only
/// once the one before it was removed. Here gate's key is another host's, app-wallet's
/// certificate no PEM one and data's key app-core's; all three are named, nothing is written,
/// and once they are removed one run issues the three anew.
#[test]
fn every_host_file_that_would_fail_is_named_in_one_run() {
    let (project, deploy) = fleet_with_secrets();
    copy(
        &deploy,
        &deploy,
        &[
            ("hosts/app-core/tls-host.key", GATE_KEY),
            ("hosts/app-core/tls-host.key", "hosts/data/tls-host.key"),
        ],
    );
    std::fs::write(
        deploy.join("hosts/app-wallet/tls-host.crt"),
        "not a certificate\n",
    )
    .unwrap();
    let before = tree(&deploy);
    let message = refusal(project.path());
    for said in [
        format!("{DEPLOY}/{GATE_KEY} is not the key of"),
        format!("{DEPLOY}/hosts/app-wallet/tls-host.crt is not a PEM certificate"),
        format!("{DEPLOY}/hosts/data/tls-host.key is not the key of"),
    ] {
        assert!(message.contains(&said), "{said}: {message}");
    }
    assert!(
        message.contains("remove them and run `stackr secrets` again"),
        "{message}"
    );
    assert_eq!(tree(&deploy), before, "the refusing run wrote");
    for file in [
        GATE_KEY,
        "hosts/app-wallet/tls-host.crt",
        "hosts/data/tls-host.key",
    ] {
        std::fs::remove_file(deploy.join(file)).unwrap();
    }
    let output = secrets(project.path(), &[]);
    for host in ["gate", "app-wallet", "data"] {
        assert!(
            output.contains(&format!("renewed {host}'s certificate")),
            "{host}: {output}"
        );
    }
}

#[test]
fn another_hosts_certificate_is_refused() {
    let (project, deploy) = fleet_with_secrets();
    copy(
        &deploy,
        &deploy,
        &[
            ("hosts/data/tls-host.crt", GATE_CERT),
            ("hosts/data/tls-host.key", GATE_KEY),
        ],
    );
    refused_until_removed(project.path(), GATE_CERT, &["data's certificate", "gate"]);
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused() {
    let (project, deploy) = fleet_with_secrets();
    // A key of its own, as one made anew would be.
    copy(
        &deploy,
        &deploy,
        &[("hosts/app-core/tls-host.key", GATE_KEY)],
    );
    refused_until_removed(
        project.path(),
        GATE_KEY,
        &["is not the key of", GATE_CERT, "gate"],
    );
}

/// Another deployment's certificate for the same host name, and the host's own one from before
/// a CA rotation, put back with its key after it.
#[test]
fn a_certificate_the_current_ca_did_not_sign_is_refused() {
    let (project, deploy) = fleet_with_secrets();
    let backup = tempfile::tempdir().unwrap();
    copy(
        &deploy,
        backup.path(),
        &[(GATE_CERT, "tls-host.crt"), (GATE_KEY, "tls-host.key")],
    );
    secrets(project.path(), &["--rotate-ca"]);
    copy(
        backup.path(),
        &deploy,
        &[("tls-host.crt", GATE_CERT), ("tls-host.key", GATE_KEY)],
    );
    refused_until_removed(
        project.path(),
        GATE_CERT,
        &[
            "not signed by the deployment's CA",
            "previous-ca.crt",
            "gate",
        ],
    );

    let other = project_in_git(&fixture_config("fleet"));
    secrets(other.path(), &[]);
    copy(
        &other.path().join(DEPLOY),
        &deploy,
        &[(GATE_CERT, GATE_CERT), (GATE_KEY, GATE_KEY)],
    );
    refused_until_removed(
        project.path(),
        GATE_CERT,
        &["not signed by the deployment's CA", "ca/ca.crt", "gate"],
    );
}

/// A certificate for gate's name and address, of gate's key, signed by the deployment's CA with
/// `openssl ca`, valid from `start` to `end` (`YYYYMMDDHHMMSSZ`), in place of gate's own.
fn sign_gate_with_openssl(deploy: &Path, start: &str, end: &str) {
    let work = tempfile::tempdir().unwrap();
    let at = |name: &str| work.path().join(name);
    std::fs::write(at("index.txt"), "").unwrap();
    std::fs::write(at("serial"), "01\n").unwrap();
    std::fs::write(
        at("ca.cnf"),
        format!(
            "[ca]\ndefault_ca = deployment\n[deployment]\ndatabase = {}\nnew_certs_dir = {}\nserial = {}\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n[host]\nsubjectAltName = DNS:gate,IP:10.0.0.10\n",
            at("index.txt").display(),
            work.path().display(),
            at("serial").display()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(work.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            stderr(&output)
        );
    };
    let key = deploy.join(GATE_KEY);
    run(&[
        "req",
        "-new",
        "-subj",
        "/CN=gate",
        "-key",
        key.to_str().unwrap(),
        "-out",
        "gate.csr",
    ]);
    let (ca_cert, ca_key) = (deploy.join("ca/ca.crt"), deploy.join("ca/ca.key"));
    run(&[
        "ca",
        "-batch",
        "-notext",
        "-config",
        "ca.cnf",
        "-extensions",
        "host",
        "-cert",
        ca_cert.to_str().unwrap(),
        "-keyfile",
        ca_key.to_str().unwrap(),
        "-startdate",
        start,
        "-enddate",
        end,
        "-in",
        "gate.csr",
        "-out",
        "gate.crt",
    ]);
    std::fs::copy(at("gate.crt"), deploy.join(GATE_CERT)).unwrap();
}

#[test]
fn an_expired_or_not_yet_valid_certificate_is_refused() {
    if !common::installed("openssl") {
        eprintln!("openssl not installed: skipped");
        return;
    }
    let (project, deploy) = fleet_with_secrets();
    // Made the same way but valid now, it is kept: what is refused below is its dates alone.
    sign_gate_with_openssl(&deploy, "20200101000000Z", "20491231235959Z");
    let valid = std::fs::read(deploy.join(GATE_CERT)).unwrap();
    secrets(project.path(), &[]);
    assert_eq!(std::fs::read(deploy.join(GATE_CERT)).unwrap(), valid);

    sign_gate_with_openssl(&deploy, "20200101000000Z", "20210101000000Z");
    refused_until_removed(
        project.path(),
        GATE_CERT,
        &["ended on 2021-01-01 00:00 UTC", "gate"],
    );
    sign_gate_with_openssl(&deploy, "20480101000000Z", "20491231235959Z");
    refused_until_removed(
        project.path(),
        GATE_CERT,
        &["valid only from 2048-01-01 00:00 UTC", "clock", "gate"],
    );
}

/// A host whose address the placement changed: the config is the source of truth, and the
/// certificate naming its old address is due, like one near its end.
#[test]
fn a_host_whose_address_changed_gets_a_new_certificate() {
    let config = fixture_config("fleet");
    let project = project_in_git(&config);
    secrets(project.path(), &[]);
    let deploy = project.path().join(DEPLOY);
    let before = std::fs::read(deploy.join(GATE_CERT)).unwrap();
    let moved = config.replace("\"10.0.0.10\"", "\"10.0.0.13\"");
    assert_ne!(moved, config);
    std::fs::write(project.path().join("stackr.config.json"), &moved).unwrap();
    let output = secrets(project.path(), &[]);
    assert!(output.contains("renewed gate's certificate"), "{output}");
    let issued = std::fs::read(deploy.join(GATE_CERT)).unwrap();
    assert_ne!(issued, before, "{output}");
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(deploy.join(GATE_CERT))
        .output();
    if let Ok(text) = text {
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains("10.0.0.13") && !text.contains("10.0.0.10"),
            "{text}"
        );
    }
    secrets(project.path(), &[]);
    assert_eq!(
        std::fs::read(deploy.join(GATE_CERT)).unwrap(),
        issued,
        "kept"
    );
}

/// A host renamed in the placement whose folder was renamed with it by hand: its certificate
/// names what the placement said before.
#[test]
fn a_certificate_for_another_name_than_the_placement_is_refused() {
    let config = fixture_config("fleet");
    let project = project_in_git(&config);
    secrets(project.path(), &[]);
    let renamed = config.replace("\"data\"", "\"store\"");
    assert_ne!(renamed, config);
    std::fs::write(project.path().join("stackr.config.json"), &renamed).unwrap();
    let deploy = project.path().join(DEPLOY);
    std::fs::rename(deploy.join("hosts/data"), deploy.join("hosts/store")).unwrap();
    refused_until_removed(
        project.path(),
        "hosts/store/tls-host.crt",
        &["issued for data", "not for store"],
    );
}

/// The CA certificate every kept host certificate is checked against, overwritten: without the
/// project's record of it (which refuses another one first), it went into the trusted bundle
/// every host verifies with, and every connection between hosts failed.
#[test]
fn a_ca_certificate_that_is_no_certificate_is_refused() {
    let project = project_in_git(&fixture_config("fleet"));
    secrets(project.path(), &[]);
    std::fs::remove_file(project.path().join("deployment-ca.crt")).unwrap();
    let deploy = project.path().join(DEPLOY);
    std::fs::write(deploy.join("ca/ca.crt"), "not a certificate\n").unwrap();
    let before = tree(&deploy);
    let message = refusal(project.path());
    assert!(
        message.contains(&format!("{DEPLOY}/ca/ca.crt is not a PEM CA certificate"))
            && message.contains("backup"),
        "{message}"
    );
    assert_eq!(tree(&deploy), before, "the refusing run wrote");
}
