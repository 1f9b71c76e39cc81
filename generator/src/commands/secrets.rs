//! `stackr secrets`: creates the secrets of a stack placed on several hosts, once, in the
//! git-ignored deployment folder (`<stateDir>/deploy`), which colmena uploads each host's share
//! from (modules/colmena.nix): a random value for every secret the dev stack also has (same file
//! names as the module library's defaults), the deployment's CA, and per host a certificate for
//! its name and address, signed by that CA. Existing files are kept, so a new host only gets its
//! certificate (and a host whose certificate another CA signed, a new one); a host certificate or
//! key kept that would fail on the hosts is refused (`host_certificate_check`). `--rotate-ca`
//! replaces the CA and every host certificate and keeps the previous CA in the trusted bundle until
//! `--retire-previous-ca`; a rotation cut short is finished by the next run. The folder carries
//! its own `.gitignore`, wherever `stateDir` puts it; the project commits the CA's certificate
//! (`deployment_ca_record`), so that a clone elsewhere, without the folder, makes no second
//! deployment.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use stackr_supervisor::io_advice::{advised, nearest_existing};

use super::{deployment_ca_record, host_certificate_check};
use crate::plan::placement::{FleetPlan, HostPlan};
use crate::plan::AUTH_SECRET;
use crate::project::load_project;
use crate::UsageError;

/// Deployed to every host: the CA certificates a connection is verified against.
pub const CA_BUNDLE: &str = "tls-ca.crt";
/// Never deployed: the CA's own certificate and key, and the one `--rotate-ca` replaced.
pub(super) const CA_CERT: &str = "ca/ca.crt";
const CA_KEY: &str = "ca/ca.key";
pub(super) const PREVIOUS_CA_CERT: &str = "ca/previous-ca.crt";
/// A rotation's new CA, written whole before it replaces the current one: a rotation cut short
/// (a crash, Ctrl-C) is finished by the next run, or never begun.
pub(super) const NEXT_CA_CERT: &str = "ca/next-ca.crt";
const NEXT_CA_KEY: &str = "ca/next-ca.key";
/// A host's certificate and key, under `hosts/<host>/`.
const HOST_CERT: &str = "tls-host.crt";
const HOST_KEY: &str = "tls-host.key";
/// Never deployed: the CA certificate that signed the host's certificate, written last. A host
/// whose certificate another CA signed (a rotation or a run cut short) gets a new one.
const HOST_ISSUER: &str = "issuer-ca.crt";
/// Never deployed: when the host's certificate ends (Unix seconds), written with it.
const HOST_EXPIRES: &str = "tls-host.expires";
/// How long a host certificate is trusted: a host taken out of the placement, or whose key
/// leaked, stops being trusted then at the latest (before, only a CA rotation ended it).
const HOST_CERT_DAYS: i64 = 730;
/// `stackr secrets` issues a host a new certificate once its current one ends within this many
/// days: run before each deployment, it renews certificates long before they end.
const RENEW_WITHIN_DAYS: i64 = 60;
/// Keeps the folder out of git wherever `stateDir` puts it.
const GITIGNORE: &str = "# stackr secrets: the deployment's secrets, never committed\n*\n";
/// Length of a random secret, as the module library and the dev stack create them.
const SECRET_LENGTH: usize = 48;

/// What to do with the CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaAction {
    /// Create it when missing.
    Keep,
    /// Replace it and reissue every host certificate.
    Rotate,
    /// Stop trusting the CA the last rotation replaced.
    RetirePrevious,
}

pub fn run(root: &Path, action: CaAction) -> Result<ExitCode> {
    let project = load_project(root)?;
    let fleet = project.plan.fleet.as_ref().ok_or_else(|| {
        UsageError::new(
            "this stack runs on one host: its secrets are files you provision (or `stackr.secrets.generate`), see docs/deploy.md",
            "add `placement` to stackr.config.json to deploy on several hosts",
        )
    })?;
    if !crate::git_repository::holds(root) {
        return Err(UsageError::new(
            format!(
                "{} is not in a git repository: a flake command (`colmena apply`, `nixos-rebuild --flake`, `nix run`) would copy it whole into the Nix store, where every local user can read it, the deployment's secrets in {} included",
                root.display(),
                fleet.secrets_dir
            ),
            "run `git init && git add -A` in the project (its .gitignore keeps the state folder out), then `stackr secrets` again",
        )
        .into());
    }
    let folders: Vec<String> = std::iter::once(CA_CERT.to_owned())
        .chain(fleet.hosts.iter().map(|h| host_cert(&h.name)))
        .filter_map(|file| {
            let folder = Path::new(&file).parent()?.to_str()?.to_owned();
            Some(format!("{}/{folder}", fleet.secrets_dir))
        })
        .collect();
    crate::state_dir_unlinked::check(root, &folders, "the deployment's secrets")?;
    let dir = root.join(&fleet.secrets_dir);
    deployment_ca_record::check(root, &dir, &fleet.secrets_dir)?;
    let names: Vec<&str> = project
        .plan
        .secrets
        .iter()
        .filter_map(|s| s.file.rsplit('/').next())
        .collect();
    refuse_a_secret_that_is_no_file(&dir, &names, &fleet.secrets_dir)?;
    refuse_a_new_auth_secret(&dir, &names, &fleet.secrets_dir)?;
    if action != CaAction::Rotate {
        refuse_a_silent_new_ca(&dir, &fleet.secrets_dir)?;
    }
    // A host's files that are no PEM ones first: the check of what is kept finds no more in them.
    let no_pem = host_files_that_are_no_pem(&dir, fleet);
    let would_fail = host_certificate_check::host_files_that_would_fail(
        &dir,
        fleet,
        action,
        &fleet.secrets_dir,
    )?;
    host_certificate_check::refuse(
        fleet,
        no_pem.into_iter().chain(would_fail),
        &fleet.secrets_dir,
    )?;
    // Hosts issued a certificate before, whose servers may present it: a certificate removed
    // for a new one leaves its key.
    let certified: Vec<&str> = fleet
        .hosts
        .iter()
        .map(|h| h.name.as_str())
        .filter(|h| dir.join(host_cert(h)).exists() || dir.join(host_key(h)).exists())
        .collect();
    let created = create(root, &dir, &names, fleet, action)?;
    for file in &created {
        println!("created {}/{file}", fleet.secrets_dir);
    }
    // The servers presenting a host's certificate (nginx, PostgreSQL, Redis) read it through
    // LoadCredential when they start: a new one uploaded alone changes no unit, so nothing
    // restarts them, and they serve the old one until it ends, when every connection to them
    // from another host is refused. colmena hands the command to the host's shell as one line:
    // quoted whole, its patterns reach systemctl quoted, not expanded against root's files.
    for host in certified
        .into_iter()
        .filter(|h| created.contains(&host_cert(h)))
    {
        println!(
            "renewed {host}'s certificate: its servers keep presenting the old one until they restart; once it is uploaded (`colmena apply` or `colmena upload-keys`): colmena exec --on {host} -- \"systemctl restart 'nginx*' 'stackr-*-postgresql*' 'redis-*'\""
        );
    }
    if created.is_empty() {
        println!(
            "every secret of the deployment exists in {}",
            fleet.secrets_dir
        );
    }
    if deployment_ca_record::write(root, &dir)? {
        println!(
            "wrote {}, the deployment's CA certificate (no secret): commit it, so that a clone of the project elsewhere makes no second deployment",
            deployment_ca_record::RECORD
        );
    }
    if let Some(oauth) = &project.plan.dev_oauth {
        for secret in &oauth.secrets {
            let name = secret.file.rsplit('/').next().unwrap_or_default();
            if !dir.join(name).exists() {
                println!(
                    "missing {}/{name}: the sign-in provider's secret, which stackr cannot create",
                    fleet.secrets_dir
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// In a deployment that exists (it has a CA), a missing auth secret was deleted: a new one in its
/// place would sign every user out and leave every two-factor enrolment sealed by a secret auth
/// no longer has, its user locked out. Auth's secret is rotated as a versioned one instead.
fn refuse_a_new_auth_secret(dir: &Path, secrets: &[&str], shown: &str) -> Result<()> {
    let deployed = dir.join(CA_CERT).exists() || dir.join(NEXT_CA_CERT).exists();
    if !deployed || !secrets.contains(&AUTH_SECRET) || dir.join(AUTH_SECRET).exists() {
        return Ok(());
    }
    Err(UsageError::new(
        format!("{shown}/{AUTH_SECRET} is missing from a deployment that exists: a new one would sign every user out and lock every two-factor user out (their enrolments are sealed with the secret auth had)"),
        format!("restore it from the folder's backup; to rotate auth's secret, see docs/deploy.md, \"Rotating auth's secret\"; to start over with a new one anyway, write 48 random characters to {shown}/{AUTH_SECRET} yourself"),
    )
    .into())
}

/// A secret present in `dir` must be a regular file holding something: an empty one (cut short)
/// fails its units once deployed, and a folder or a link (whose target, any file of this
/// machine, would be uploaded as the secret) is none. Such a path is refused, not counted as
/// present.
fn refuse_a_secret_that_is_no_file(dir: &Path, names: &[&str], shown: &str) -> Result<()> {
    for name in names {
        let Some(what) = no_file_with_content(&dir.join(name)) else {
            continue;
        };
        return Err(UsageError::new(
            format!("{shown}/{name} is {what}: a secret is a file of its own holding it"),
            format!("write the secret into {shown}/{name}, or remove it and run `stackr secrets` again for a new random one (for auth-secret, see docs/deploy.md, \"Rotating auth's secret\")"),
        )
        .into());
    }
    Ok(())
}

/// What the path in a secret file's place is, when it is there and no regular file holding
/// something: a symbolic link, a folder, or empty.
fn no_file_with_content(path: &Path) -> Option<&'static str> {
    let metadata = std::fs::symlink_metadata(path).ok()?;
    if metadata.is_symlink() {
        Some("a symbolic link")
    } else if metadata.is_dir() {
        Some("a folder")
    } else if metadata.len() == 0 {
        Some("empty")
    } else {
        None
    }
}

/// A host's certificate and key present in `dir` must be PEM ones: one overwritten, cut short or
/// saved in the other's place was kept and uploaded, and the host's servers (nginx, PostgreSQL,
/// Redis) failed to start on it. Such files, one a host, are refused; removed, both are issued
/// anew.
fn host_files_that_are_no_pem(
    dir: &Path,
    fleet: &FleetPlan,
) -> Vec<host_certificate_check::HostFileFault> {
    fleet
        .hosts
        .iter()
        .filter_map(|host| {
            let (cert, key) = (host_cert(&host.name), host_key(&host.name));
            let (file, wrong) =
                pem_fault(&dir.join(&cert), "a PEM certificate", holds_a_certificate)
                    .map(|wrong| (cert, wrong))
                    .or_else(|| {
                        pem_fault(&dir.join(&key), "a PEM private key", holds_a_key)
                            .map(|wrong| (key, wrong))
                    })?;
            Some(host_certificate_check::HostFileFault {
                host: host.name.clone(),
                file,
                fault: format!("{wrong}: {}'s servers cannot start on it", host.name),
            })
        })
        .collect()
}

/// How the file at `path` fails to be `what` (which `holds` tells), when it is there.
fn pem_fault(path: &Path, what: &str, holds: fn(&str) -> bool) -> Option<String> {
    if let Some(it) = no_file_with_content(path) {
        return Some(format!("is {it}"));
    }
    match std::fs::read_to_string(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Ok(text) if holds(&text) => None,
        _ => Some(format!("is not {what}")),
    }
}

fn holds_a_certificate(pem: &str) -> bool {
    CertificateDer::from_pem_slice(pem.as_bytes()).is_ok()
}

fn holds_a_key(pem: &str) -> bool {
    KeyPair::from_pem(pem).is_ok()
}

/// In a deployment that exists (it has a CA certificate, and no rotation under way), a missing CA
/// key was deleted: a new CA in its place is a rotation, whose new certificates every host needs
/// at once and whose old CA must be retired later, as its guide says; asked for by name, not made
/// on the way.
fn refuse_a_silent_new_ca(dir: &Path, shown: &str) -> Result<()> {
    if !dir.join(CA_CERT).exists() || dir.join(CA_KEY).exists() || dir.join(NEXT_CA_CERT).exists() {
        return Ok(());
    }
    Err(UsageError::new(
        format!("{shown}/{CA_KEY} is missing from a deployment that exists: without it no host certificate can be issued or renewed"),
        "restore it from the folder's backup; to replace the CA, run `stackr secrets --rotate-ca` and follow docs/deploy.md, \"Rotating the CA\"",
    )
    .into())
}

/// Creates what is missing in `dir`, the deployment folder of the project at `root` (and what
/// `action` replaces); returns the files written, relative to `dir`.
pub fn create(
    root: &Path,
    dir: &Path,
    secrets: &[&str],
    fleet: &FleetPlan,
    action: CaAction,
) -> Result<Vec<String>> {
    let mut written = Vec::new();
    if !dir.join(".gitignore").exists() {
        write_private(root, dir, ".gitignore", GITIGNORE)?;
    }
    // Asked again after a rotation was cut short, `--rotate-ca` finishes that one: a second new
    // CA would push the one the hosts still use out of the trusted bundle.
    let finished_a_rotation = finish_an_interrupted_rotation(root, dir)?;
    for name in secrets {
        if !dir.join(name).exists() {
            write_private(root, dir, name, &random_secret()?)?;
            written.push((*name).to_owned());
        }
    }
    let rotates =
        (action == CaAction::Rotate && !finished_a_rotation) || !dir.join(CA_KEY).exists();
    if rotates {
        let (cert, key) = new_ca()?;
        write_private(root, dir, NEXT_CA_KEY, &key)?;
        write_private(root, dir, NEXT_CA_CERT, &cert)?;
        finish_an_interrupted_rotation(root, dir)?;
    }
    if finished_a_rotation || rotates {
        written.push(CA_CERT.to_owned());
    }
    if action == CaAction::RetirePrevious && dir.join(PREVIOUS_CA_CERT).exists() {
        std::fs::remove_file(dir.join(PREVIOUS_CA_CERT))
            .map_err(|err| advised(err, "retiring the previous CA".into(), dir, root))?;
    }
    let ca_cert = std::fs::read_to_string(dir.join(CA_CERT)).with_context(|| {
        format!(
            "reading the CA certificate {}: if it is gone, `stackr secrets --rotate-ca` makes a new CA and reissues every host's certificate",
            dir.join(CA_CERT).display()
        )
    })?;
    let ca_key = KeyPair::from_pem(&std::fs::read_to_string(dir.join(CA_KEY))?)
        .context("the CA key in the deployment folder is not a PEM private key")?;
    // The issuer as rcgen signs with it: the CA's name and key (what a certificate it signs
    // names and is verified with), not the stored certificate itself.
    let issuer = ca_params()?.self_signed(&ca_key)?;
    let now = time::OffsetDateTime::now_utc();
    for host in &fleet.hosts {
        let folder = format!("hosts/{}", host.name);
        if !keeps_host_certificate(dir, host, &ca_cert, now) {
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::new(vec![host.name.clone()])?;
            params.distinguished_name = name(&host.name);
            // A day back, for clocks a little behind.
            params.not_before = now - time::Duration::days(1);
            let ends = now + time::Duration::days(HOST_CERT_DAYS);
            params.not_after = ends;
            // Names the signing CA's key: during a rotation two CAs of one name are trusted.
            params.use_authority_key_identifier_extension = true;
            params.subject_alt_names.push(SanType::IpAddress(
                host.address.parse().context("host address")?,
            ));
            let cert = params.signed_by(&key, &issuer, &ca_key)?;
            write_private(root, dir, &host_key(&host.name), &key.serialize_pem())?;
            write_private(root, dir, &host_cert(&host.name), &cert.pem())?;
            write_private(
                root,
                dir,
                &format!("{folder}/{HOST_EXPIRES}"),
                &ends.unix_timestamp().to_string(),
            )?;
            write_private(root, dir, &format!("{folder}/{HOST_ISSUER}"), &ca_cert)?;
            written.push(host_cert(&host.name));
        }
    }
    // The trusted bundle: the current CA, and during a rotation the previous one.
    let mut bundle = ca_cert.clone();
    if let Ok(previous) = std::fs::read_to_string(dir.join(PREVIOUS_CA_CERT)) {
        bundle.push_str(&previous);
    }
    if std::fs::read_to_string(dir.join(CA_BUNDLE)).ok().as_deref() != Some(bundle.as_str()) {
        write_private(root, dir, CA_BUNDLE, &bundle)?;
        written.push(CA_BUNDLE.to_owned());
    }
    Ok(written)
}

/// Whether a run with `action` puts a new CA in place (asked for, a rotation cut short, or the
/// first run), so that [`create`] issues every host a new certificate.
pub(super) fn replaces_the_ca(dir: &Path, action: CaAction) -> bool {
    action == CaAction::Rotate || dir.join(NEXT_CA_CERT).exists() || !dir.join(CA_KEY).exists()
}

/// Whether [`create`] keeps the certificate of `host`, the CA certificate being `ca_cert` (PEM):
/// it and its key are there, the records written with it say that CA signed it and that it is far
/// from its end, and it names the address the placement gives the host (a host moved in the
/// config gets a new one, as the config is the source of truth).
pub(super) fn keeps_host_certificate(
    dir: &Path,
    host: &HostPlan,
    ca_cert: &str,
    now: time::OffsetDateTime,
) -> bool {
    let folder = dir.join(format!("hosts/{}", host.name));
    let issuer = std::fs::read_to_string(folder.join(HOST_ISSUER)).ok();
    issuer.as_deref() == Some(ca_cert)
        && dir.join(host_cert(&host.name)).exists()
        && dir.join(host_key(&host.name)).exists()
        && !ends_soon(&folder.join(HOST_EXPIRES), now)
        && !host_certificate_check::names_another_address(dir, host)
}

/// The certificate of host `name`, relative to the deployment folder.
pub(super) fn host_cert(name: &str) -> String {
    format!("hosts/{name}/{HOST_CERT}")
}

/// The private key of host `name`'s certificate, relative to the deployment folder.
pub(super) fn host_key(name: &str) -> String {
    format!("hosts/{name}/{HOST_KEY}")
}

/// Whether the host certificate whose end `expires` records ends within [`RENEW_WITHIN_DAYS`] of
/// `now`. One without a record (issued by a stackr that set no end: valid until 4096) does.
fn ends_soon(expires: &Path, now: time::OffsetDateTime) -> bool {
    let end = std::fs::read_to_string(expires)
        .ok()
        .and_then(|text| text.trim().parse::<i64>().ok());
    end.is_none_or(|end| end - now.unix_timestamp() < RENEW_WITHIN_DAYS * 24 * 3600)
}

/// Puts a new CA written whole (`NEXT_CA_*`) in place of the current one, which becomes the
/// previous one: each step a rename, so a run cut short anywhere is finished by the next. A new
/// key without its certificate (cut short while writing them) is dropped: that rotation never
/// began. Returns whether it put a new CA in place.
fn finish_an_interrupted_rotation(root: &Path, dir: &Path) -> Result<bool> {
    let rename = |from: &str, to: &str| {
        std::fs::rename(dir.join(from), dir.join(to)).map_err(|err| {
            let doing = format!("replacing the CA: moving {from} to {to}");
            advised(err, doing, dir, root)
        })
    };
    if !dir.join(NEXT_CA_CERT).exists() {
        if dir.join(NEXT_CA_KEY).exists() {
            std::fs::remove_file(dir.join(NEXT_CA_KEY))
                .map_err(|err| advised(err, "dropping a half-made CA".into(), dir, root))?;
        }
        return Ok(false);
    }
    if dir.join(NEXT_CA_KEY).exists() {
        if dir.join(CA_CERT).exists() {
            rename(CA_CERT, PREVIOUS_CA_CERT)?;
        }
        rename(NEXT_CA_KEY, CA_KEY)?;
    }
    rename(NEXT_CA_CERT, CA_CERT)?;
    Ok(true)
}

fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

/// The deployment CA: may sign only end-entity certificates.
fn ca_params() -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::new())?;
    params.distinguished_name = name("stackr deployment CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(params)
}

/// A new CA certificate (PEM) and its key (PEM).
fn new_ca() -> Result<(String, String)> {
    let key = KeyPair::generate()?;
    let cert = ca_params()?.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// 48 characters of [A-Za-z0-9] from the operating system's random source, without bias.
fn random_secret() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut source = std::fs::File::open("/dev/urandom").context("opening /dev/urandom")?;
    let mut secret = String::with_capacity(SECRET_LENGTH);
    let mut buffer = [0u8; 64];
    while secret.len() < SECRET_LENGTH {
        source.read_exact(&mut buffer)?;
        // 248 = 4 * 62: bytes above it would favour the first letters.
        for byte in buffer.iter().filter(|b| **b < 248) {
            if secret.len() < SECRET_LENGTH {
                secret.push(ALPHABET[usize::from(*byte) % ALPHABET.len()] as char);
            }
        }
    }
    Ok(secret)
}

/// Writes `content` to `dir/relative` readable by the owner only, through a temporary file, so
/// a crash never leaves a partial secret. `root` is the project the advice of an error names.
pub(super) fn write_private(root: &Path, dir: &Path, relative: &str, content: &str) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let path: PathBuf = dir.join(relative);
    let parent = path.parent().expect("a file in the folder");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(parent)
        .map_err(|err| {
            let doing = format!("creating {}", parent.display());
            advised(err, doing, nearest_existing(parent), root)
        })?;
    let temporary = path.with_extension("new");
    let writing =
        |err, written: &Path| advised(err, format!("writing {}", written.display()), parent, root);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(|err| writing(err, &temporary))?;
    let written = std::io::Write::write_all(&mut file, content.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|err| writing(err, &temporary))
        .and_then(|()| std::fs::rename(&temporary, &path).map_err(|err| writing(err, &path)));
    if written.is_err() {
        // A part of a secret, or a whole one nothing will read, is not left beside the secrets.
        // Removing it can fail too (a read-only mount): the error that stopped the writing is
        // the one to tell.
        let _ = std::fs::remove_file(&temporary);
    }
    written
}
