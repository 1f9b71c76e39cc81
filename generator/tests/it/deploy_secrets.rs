//! `stackr secrets` on a stack placed on several hosts (tests/fixtures/fleet): every secret the
//! hosts read, created once and private; a CA and per host a certificate that a real PostgreSQL
//! serves and a real client verifies by the host's name (and refuses for another host's name);
//! rotating the CA keeps the previous one trusted until it is retired.

use crate::common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::nixos::repo_root;
use common::{fixture_config, project_with_config, stackr, stderr, stdout, tree};
use stackr_testkit::TempPostgres;

pub(crate) const DEPLOY: &str = ".stackr/deploy";

/// A project with `config` in a git repository of its own, as `stackr init` makes one.
pub(crate) fn project_in_git(config: &str) -> tempfile::TempDir {
    let project = project_with_config(config);
    let init = Command::new("git")
        .args(["init", "-q"])
        .current_dir(project.path())
        .status()
        .expect("git");
    assert!(init.success());
    project
}

pub(crate) fn secrets(project: &Path, args: &[&str]) -> String {
    let output = stackr(project, &[&["secrets"], args].concat());
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
}

/// Runs `stackr secrets` in `project`, which must end with a usage error; its message, on one
/// line.
pub(crate) fn refusal(project: &Path) -> String {
    let output = stackr(project, &["secrets"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    stderr(&output)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
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
            .env("PGPASSWORD", postgres.superuser_password())
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
    let project = project_in_git(&fixture_config("fleet"));
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

/// Whether `openssl` verifies the host certificate `host` of `deploy` against its current CA.
fn host_verifies(deploy: &Path, host: &str) -> bool {
    Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(deploy.join("ca/ca.crt"))
        .arg(deploy.join(format!("hosts/{host}/tls-host.crt")))
        .output()
        .unwrap()
        .status
        .success()
}

/// A `--rotate-ca` cut short (a crash, Ctrl-C) is finished by the next plain run, at each point
/// it can stop: the new CA written but not in place, the new CA in place but the hosts'
/// certificates still the old CA's; a new key without its certificate is dropped.
#[test]
fn a_rotation_cut_short_is_finished_by_the_next_run() {
    if !common::installed("openssl") {
        eprintln!("openssl not installed: skipped");
        return;
    }
    let project = project_in_git(&fixture_config("fleet"));
    secrets(project.path(), &[]);
    let deploy = project.path().join(DEPLOY);
    let before = tree(&deploy);
    // Another CA, as a rotation would write it before putting it in place.
    let other = project_in_git(&fixture_config("fleet"));
    secrets(other.path(), &[]);
    let other_deploy = other.path().join(DEPLOY);
    for (from, to) in [
        ("ca/ca.crt", "ca/next-ca.crt"),
        ("ca/ca.key", "ca/next-ca.key"),
    ] {
        std::fs::copy(other_deploy.join(from), deploy.join(to)).unwrap();
    }
    secrets(project.path(), &[]);
    assert_eq!(
        std::fs::read(deploy.join("ca/ca.crt")).unwrap(),
        std::fs::read(other_deploy.join("ca/ca.crt")).unwrap(),
        "the new CA is in place"
    );
    assert_eq!(
        std::fs::read(deploy.join("ca/previous-ca.crt")).unwrap(),
        before[Path::new("ca/ca.crt")],
        "the replaced CA is still trusted"
    );
    for host in ["gate", "data", "app-core", "app-wallet"] {
        assert!(host_verifies(&deploy, host), "{host}: signed by the new CA");
    }

    // The CA replaced, the hosts' certificates not yet: the next run reissues them.
    let rotated = tree(&deploy);
    secrets(project.path(), &["--rotate-ca"]);
    for (path, content) in &rotated {
        if path.starts_with("hosts") {
            std::fs::write(deploy.join(path), content).unwrap();
        }
    }
    assert!(!host_verifies(&deploy, "gate"));
    secrets(project.path(), &[]);
    assert!(host_verifies(&deploy, "gate"));

    // `--rotate-ca` asked again after a cut-short rotation finishes that one, and makes no
    // second CA: the one the hosts still run on stays trusted.
    let running = std::fs::read(deploy.join("ca/ca.crt")).unwrap();
    for (from, to) in [
        ("ca/ca.crt", "ca/next-ca.crt"),
        ("ca/ca.key", "ca/next-ca.key"),
    ] {
        std::fs::copy(other_deploy.join(from), deploy.join(to)).unwrap();
    }
    secrets(project.path(), &["--rotate-ca"]);
    assert_eq!(
        std::fs::read(deploy.join("ca/previous-ca.crt")).unwrap(),
        running
    );
    assert_eq!(
        std::fs::read(deploy.join("ca/ca.crt")).unwrap(),
        std::fs::read(other_deploy.join("ca/ca.crt")).unwrap()
    );

    // A new key alone: that rotation never began.
    let settled = tree(&deploy);
    std::fs::write(deploy.join("ca/next-ca.key"), "half a rotation").unwrap();
    secrets(project.path(), &[]);
    assert_eq!(tree(&deploy), settled);
}

/// The deployment folder keeps itself out of git wherever `stateDir` puts it: the project's
/// own `.gitignore` names only the default state folder.
#[test]
fn the_deployment_secrets_stay_out_of_git_in_any_state_folder() {
    if !common::installed("git") {
        eprintln!("git not installed: skipped");
        return;
    }
    let config = fixture_config("fleet").replacen("{", "{\n  \"stateDir\": \"ops/state\",", 1);
    let project = project_in_git(&config);
    secrets(project.path(), &[]);
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .args(args)
            .current_dir(project.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
    };
    git(&["add", "-A"]);
    let tracked = git(&["ls-files"]);
    assert!(project.path().join("ops/state/deploy/ca/ca.key").is_file());
    assert!(!tracked.contains("ops/state"), "{tracked}");
}

/// A host certificate (and its key, on the host's disk and in every backup of it) is trusted
/// only for a bounded time: a host taken out of the placement, or whose key leaked, must not stay
/// trusted by every other host forever. rcgen's default validity is 1975 to 4096, so today only a
/// CA rotation ends that trust; a certificate should expire (here: within two years) and
/// `stackr secrets` reissue it before it does.
#[test]
fn host_certificates_expire() {
    if !common::installed("openssl") {
        eprintln!("openssl not installed: skipped");
        return;
    }
    let project = project_in_git(&fixture_config("fleet"));
    secrets(project.path(), &[]);
    let two_years = (2 * 366 * 24 * 3600).to_string();
    for host in ["gate", "data"] {
        let cert = project
            .path()
            .join(DEPLOY)
            .join(format!("hosts/{host}/tls-host.crt"));
        let output = Command::new("openssl")
            .args(["x509", "-noout", "-enddate", "-checkend", &two_years, "-in"])
            .arg(&cert)
            .output()
            .unwrap();
        assert!(
            !output.status.success(),
            "{host}'s certificate is still valid in two years: {}",
            stdout(&output)
        );
    }
}

/// `stackr secrets`, run before each deployment, reissues a host certificate that ends within
/// 60 days (or that an older stackr issued without an end), and keeps one far from its end.
#[test]
fn certificates_near_their_end_are_reissued_and_others_kept() {
    let project = project_in_git(&fixture_config("fleet"));
    let first = secrets(project.path(), &[]);
    assert!(
        !first.contains("systemctl restart"),
        "nothing to restart yet: {first}"
    );
    let host = |name: &str, file: &str| {
        project
            .path()
            .join(DEPLOY)
            .join(format!("hosts/{name}/{file}"))
    };
    let cert = |name: &str| std::fs::read_to_string(host(name, "tls-host.crt")).unwrap();
    let (gate, data) = (cert("gate"), cert("data"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // gate's ends in 30 days; data's was issued by an older stackr, which recorded no end.
    std::fs::write(
        host("gate", "tls-host.expires"),
        (now + 30 * 86_400).to_string(),
    )
    .unwrap();
    std::fs::remove_file(host("data", "tls-host.expires")).unwrap();
    let unchanged = cert("app-core");
    let output = secrets(project.path(), &[]);
    assert!(output.contains("hosts/gate/tls-host.crt"), "{output}");
    // The servers presenting it (nginx, PostgreSQL, Redis) read it through LoadCredential when
    // they start: uploaded alone, the new one is served only once they restart, and the old one
    // until it ends. The run says so, with the command, for each renewed host and no other.
    // The command restarts those units on that host, whatever the folder the host's shell
    // starts in holds.
    for renewed in ["gate", "data"] {
        let command = output
            .lines()
            .find(|line| line.starts_with(&format!("renewed {renewed}'s certificate")))
            .and_then(|line| line.split_once("): ").map(|(_, command)| command))
            .unwrap_or_else(|| panic!("{renewed}: {output}"));
        assert!(
            command.starts_with(&format!("colmena exec --on {renewed} -- ")),
            "{command}"
        );
        let calls = systemctl_calls_on_host(command, &[]);
        assert_eq!(
            calls,
            [["restart", "nginx*", "stackr-*-postgresql*", "redis-*"]],
            "{command}"
        );
        assert_patterns_reach_systemctl(command);
    }
    assert!(!output.contains("--on app-core"), "{output}");
    assert_ne!(cert("gate"), gate, "{output}");
    assert_ne!(cert("data"), data, "{output}");
    assert_eq!(cert("app-core"), unchanged, "far from its end: kept");
    let renewed = cert("gate");
    let again = secrets(project.path(), &[]);
    assert_eq!(cert("gate"), renewed, "renewed once: {again}");
}

/// The argument lists `systemctl` receives on a host when `line` (a shell command line calling
/// `colmena exec [OPTION...] -- COMMAND...`) runs on the deploying machine, the host's shell
/// starting in a folder that holds `files`. colmena hands COMMAND's words to ssh, which joins
/// them with spaces for the host's shell to parse again: quotes, `&&` and filename patterns
/// are that shell's. With a target user other than root, colmena puts its privilege escalation
/// command (`sudo -H --`) before the words, so that shell runs only the first command of an `&&`
/// list as root: every `systemctl` call must be made as root.
fn systemctl_calls_on_host(line: &str, files: &[String]) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let (bin, home, log) = (
        dir.path().join("bin"),
        dir.path().join("home"),
        dir.path().join("log"),
    );
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    for file in files {
        std::fs::write(home.join(file), "").unwrap();
    }
    for (tool, body) in [
        (
            "systemctl",
            r#"printf '%s\037' "${STACKR_TEST_ROOT:-not-root}" "$@" >> "$STACKR_TEST_LOG"; echo >> "$STACKR_TEST_LOG""#,
        ),
        ("sleep", ":"),
        (
            "sudo",
            r#"[ "$1" = -H ] && shift; [ "$1" = -- ] && shift; STACKR_TEST_ROOT=root exec "$@""#,
        ),
    ] {
        let path = bin.join(tool);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(&log, "").unwrap();
    let script = format!(
        r#"colmena() {{
  [ "$1" = exec ] || return 0
  while [ "$#" -gt 0 ] && [ "$1" != -- ]; do shift; done
  shift
  (cd "$STACKR_TEST_HOME" && PATH="$STACKR_TEST_BIN:$PATH" sh -c "sudo -H -- $*")
}}
{line}
"#
    );
    let status = Command::new("sh")
        .args(["-c", &script])
        .current_dir(dir.path())
        .env("STACKR_TEST_HOME", &home)
        .env("STACKR_TEST_BIN", &bin)
        .env("STACKR_TEST_LOG", &log)
        .status()
        .unwrap();
    assert!(status.success(), "{line}");
    std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|call| {
            let mut args = call.split('\u{1f}').filter(|arg| !arg.is_empty());
            let user = args.next();
            let args: Vec<String> = args.map(str::to_owned).collect();
            assert_eq!(
                user,
                Some("root"),
                "`{line}` runs systemctl {args:?} without root"
            );
            args
        })
        .collect()
}

/// A file name that the unit pattern `pattern` matches (`*` and `?` as one `x`, a `[…]` as its
/// first character).
fn matching_file(pattern: &str) -> String {
    let mut name = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' => name.push('x'),
            '[' => {
                name.extend(chars.next());
                chars.by_ref().find(|&c| c == ']');
            }
            c => name.push(c),
        }
    }
    name
}

/// Checks that `line`'s `systemctl` calls on a host get their unit patterns as written whatever
/// files the folder the host's shell starts in holds (root's home, where a copied
/// `redis-core` folder or an `nginx.conf` would otherwise stand in for `redis-*` or `nginx*`).
/// Returns how many patterns it saw.
fn assert_patterns_reach_systemctl(line: &str) -> usize {
    let meant = systemctl_calls_on_host(line, &[]);
    assert!(!meant.is_empty(), "no systemctl call in {line}");
    let patterns: Vec<String> = meant
        .iter()
        .flatten()
        .filter(|arg| arg.contains(['*', '?', '[']))
        .cloned()
        .collect();
    let decoys: Vec<String> = patterns.iter().map(|p| matching_file(p)).collect();
    assert_eq!(
        systemctl_calls_on_host(line, &decoys),
        meant,
        "`{line}`: the host's shell expands its unit patterns against the files of its folder ({decoys:?})"
    );
    patterns.len()
}

/// Every `colmena exec` command of docs/deploy.md restarts the units it names, whatever the
/// folder the host's shell starts in holds.
#[test]
fn documented_colmena_exec_commands_reach_systemctl_as_written() {
    let docs = std::fs::read_to_string(repo_root().join("docs/deploy.md")).unwrap();
    let lines: Vec<&str> = docs
        .lines()
        .filter(|line| line.trim_start().starts_with("colmena ") && line.contains("colmena exec"))
        .collect();
    assert!(lines.len() >= 4, "{lines:?}");
    let patterns: usize = lines
        .iter()
        .map(|line| assert_patterns_reach_systemctl(line))
        .sum();
    assert!(patterns > 0, "no unit pattern in {lines:?}");
}

/// A flake command (`colmena apply`, `nixos-rebuild --flake`, `nix run`) copies a project that
/// is not a git repository into the Nix store whole, where every local user can read it: the
/// CA's key and every password with it. Outside a git repository no secret is created.
#[test]
fn no_secret_is_created_outside_a_git_repository() {
    let project = project_with_config(&fixture_config("fleet"));
    let message = refusal(project.path());
    assert!(
        message.contains("Nix store") && message.contains("git init"),
        "{message}"
    );
    assert!(
        !project.path().join(DEPLOY).exists(),
        "{:?}",
        tree(project.path()).keys()
    );
}

/// The deployment folder is git-ignored: a clone of the project on another machine has none. Its
/// `stackr secrets` made a second deployment there (new passwords, CA and auth secret) that the
/// next `colmena apply` uploaded: every user logged out, and every two-factor user locked out
/// (the enrolments are sealed with the old auth secret). The project commits the deployment's CA
/// certificate, and a folder without that CA is refused, as is one holding another CA.
#[test]
fn a_clone_without_the_deployment_folder_makes_no_second_deployment() {
    let project = project_in_git(&fixture_config("fleet"));
    secrets(project.path(), &[]);
    let deploy = project.path().join(DEPLOY);
    let record = project.path().join("deployment-ca.crt");
    assert_eq!(
        std::fs::read(&record).unwrap(),
        std::fs::read(deploy.join("ca/ca.crt")).unwrap(),
        "the deployment's CA certificate, to commit"
    );
    let made = tree(&deploy);

    // The clone: the committed files, no deployment folder.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::rename(&deploy, elsewhere.path().join("deploy")).unwrap();
    let message = refusal(project.path());
    assert!(
        message.contains("deployment-ca.crt") && message.contains(DEPLOY),
        "{message}"
    );
    assert!(!deploy.join("auth-secret").exists(), "{:?}", tree(&deploy));

    // Another deployment's folder is refused as well.
    let other = project_in_git(&fixture_config("fleet"));
    secrets(other.path(), &[]);
    std::fs::rename(other.path().join(DEPLOY), &deploy).unwrap();
    refusal(project.path());
    std::fs::remove_dir_all(&deploy).unwrap();

    // The folder copied over: nothing new.
    std::fs::rename(elsewhere.path().join("deploy"), &deploy).unwrap();
    assert!(secrets(project.path(), &[]).contains("every secret of the deployment exists"));
    assert_eq!(tree(&deploy), made);

    // A rotation moves the record with the CA.
    secrets(project.path(), &["--rotate-ca"]);
    assert_eq!(
        std::fs::read(&record).unwrap(),
        std::fs::read(deploy.join("ca/ca.crt")).unwrap()
    );

    // Lost for good: without the record, a new deployment is made.
    std::fs::remove_dir_all(&deploy).unwrap();
    std::fs::remove_file(&record).unwrap();
    secrets(project.path(), &[]);
    assert!(deploy.join("auth-secret").is_file());
    assert_eq!(
        std::fs::read(&record).unwrap(),
        std::fs::read(deploy.join("ca/ca.crt")).unwrap()
    );
}

/// Deleting auth's secret and running `stackr secrets` again, as a password is rotated, would
/// seal nothing anew: it leaves every two-factor enrolment sealed by a secret auth no longer has.
/// In a deployment that exists (it has a CA) a missing auth secret is refused, naming how to
/// rotate it; one written by hand is kept.
#[test]
fn a_deleted_auth_secret_is_not_replaced_silently() {
    let project = project_in_git(&fixture_config("fleet"));
    secrets(project.path(), &[]);
    let deploy = project.path().join(DEPLOY);
    std::fs::remove_file(deploy.join("auth-secret")).unwrap();
    let message = refusal(project.path());
    assert!(
        message.contains("auth-secret") && message.contains("Rotating auth's secret"),
        "{message}"
    );
    assert!(!deploy.join("auth-secret").exists(), "{:?}", tree(&deploy));

    // The operator's own choice, written by hand, is kept as any secret is.
    let chosen = "a-new-secret-chosen-by-hand-0123456789abcdef";
    std::fs::write(deploy.join("auth-secret"), chosen).unwrap();
    secrets(project.path(), &[]);
    assert_eq!(
        std::fs::read_to_string(deploy.join("auth-secret")).unwrap(),
        chosen
    );
}

/// A deleted CA key made a new CA at the next `stackr secrets`, as `--rotate-ca` does, and said
/// nothing of it: the hosts then need the new certificates at once and a retirement later, which
/// only the rotation's guide says. In a deployment that exists, a missing key is refused, naming
/// the rotation; `--rotate-ca` still makes a new CA.
#[test]
fn a_deleted_ca_key_is_not_replaced_silently() {
    let project = project_in_git(&fixture_config("fleet"));
    secrets(project.path(), &[]);
    let deploy = project.path().join(DEPLOY);
    let ca = std::fs::read_to_string(deploy.join("ca/ca.crt")).unwrap();
    std::fs::remove_file(deploy.join("ca/ca.key")).unwrap();
    let message = refusal(project.path());
    assert!(
        message.contains("ca/ca.key") && message.contains("--rotate-ca"),
        "{message}"
    );
    assert_eq!(
        std::fs::read_to_string(deploy.join("ca/ca.crt")).unwrap(),
        ca,
        "the CA changed"
    );
    assert!(!deploy.join("ca/ca.key").exists(), "{:?}", tree(&deploy));

    secrets(project.path(), &["--rotate-ca"]);
    assert!(deploy.join("ca/ca.key").exists());
    assert_ne!(
        std::fs::read_to_string(deploy.join("ca/ca.crt")).unwrap(),
        ca
    );
}

/// A secret's file that holds nothing (cut short), a folder, or a link (to any file of the
/// machine, whose content would be uploaded as the secret) counted as present: `stackr secrets`
/// said every secret existed, and the units failed or ran on it once deployed. Each is refused,
/// naming the file; nothing else is written.
#[test]
fn a_secret_that_is_no_file_with_content_is_refused() {
    let project = project_in_git(&fixture_config("fleet"));
    secrets(project.path(), &[]);
    let deploy = project.path().join(DEPLOY);
    let file = deploy.join("core-db-password");
    // Missing, and not made by a run that refuses.
    let missing = deploy.join("wallet-db-password");
    std::fs::remove_file(&missing).unwrap();
    for what in ["empty", "a folder", "a symbolic link"] {
        std::fs::remove_file(&file)
            .or_else(|_| std::fs::remove_dir(&file))
            .unwrap();
        match what {
            "empty" => std::fs::write(&file, "").unwrap(),
            "a folder" => std::fs::create_dir(&file).unwrap(),
            _ => std::os::unix::fs::symlink("/etc/hostname", &file).unwrap(),
        }
        let message = refusal(project.path());
        assert!(
            message.contains(&format!("core-db-password is {what}")),
            "{what}: {message}"
        );
        assert!(!missing.exists(), "{what}: a secret was written");
    }
}

/// A host's certificate or key that is no PEM one (overwritten, cut short, another file saved in
/// its place) was kept: `stackr secrets` said every secret existed, and colmena uploaded it to
/// the host, whose servers then failed to start. It is refused, naming the file and what to do,
/// and nothing is written; removed, it is issued anew, with how to restart the servers.
#[test]
fn a_host_certificate_or_key_that_is_no_pem_one_is_refused() {
    let project = project_in_git(&fixture_config("fleet"));
    secrets(project.path(), &[]);
    let deploy = project.path().join(DEPLOY);
    let cert = deploy.join("hosts/gate/tls-host.crt");
    let key = deploy.join("hosts/gate/tls-host.key");
    let (good_cert, good_key) = (
        std::fs::read_to_string(&cert).unwrap(),
        std::fs::read_to_string(&key).unwrap(),
    );
    // Missing, and not made by a run that refuses.
    let missing = deploy.join("wallet-db-password");
    std::fs::remove_file(&missing).unwrap();
    let cut_short = &good_cert[..good_cert.len() / 2];
    for (file, garbage, said) in [
        (
            &cert,
            "not a certificate\n",
            "tls-host.crt is not a PEM certificate",
        ),
        (&cert, cut_short, "tls-host.crt is not a PEM certificate"),
        (
            &cert,
            good_key.as_str(),
            "tls-host.crt is not a PEM certificate",
        ),
        (&key, "not a key\n", "tls-host.key is not a PEM private key"),
        (
            &key,
            good_cert.as_str(),
            "tls-host.key is not a PEM private key",
        ),
    ] {
        std::fs::write(&cert, &good_cert).unwrap();
        std::fs::write(&key, &good_key).unwrap();
        std::fs::write(file, garbage).unwrap();
        let message = refusal(project.path());
        assert!(
            message.contains(&format!("{DEPLOY}/hosts/gate/{said}"))
                && message.contains("remove it and run `stackr secrets` again"),
            "{said}: {message}"
        );
        assert!(!missing.exists(), "{said}: a secret was written");
        assert_eq!(std::fs::read_to_string(file).unwrap(), garbage);
    }
    std::fs::write(&key, &good_key).unwrap();
    std::fs::remove_file(&cert).unwrap();
    let output = secrets(project.path(), &[]);
    let renewed = std::fs::read_to_string(&cert).unwrap_or_default();
    assert!(
        renewed.starts_with("-----BEGIN CERTIFICATE-----") && renewed != good_cert,
        "{output}"
    );
    assert!(
        output.contains("renewed gate's certificate") && !output.contains("renewed data's"),
        "{output}"
    );
}
