//! What `stackr secrets` checks of each host certificate it is about to keep, before it writes
//! anything. It reissues a certificate when its own records say so (removed, signed by another CA,
//! near its end) or when the placement moved its host to another address; one that disagrees with
//! them was put there by hand (copied from another host, another deployment or a backup from
//! before a CA rotation, a key made anew beside it), and kept, it was uploaded and failed on the
//! hosts: their servers did not start on a key that is not the certificate's, and every other host
//! refused them at the TLS handshake otherwise. Such a file is refused, as one that is no PEM file
//! is, naming the host and the fault; removed, it is issued anew. Not checked: what the deployment
//! folder alone cannot tell (a certificate revoked elsewhere, what the hosts hold now).

use std::net::IpAddr;
use std::path::Path;

use anyhow::Result;
use rcgen::KeyPair;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use webpki::{anchor_from_trusted_cert, EndEntityCert, KeyUsage};

use super::secrets::{
    host_cert, host_key, keeps_host_certificate, replaces_the_ca, CaAction, CA_CERT,
    PREVIOUS_CA_CERT,
};
use crate::plan::placement::{FleetPlan, HostPlan};
use crate::UsageError;

/// A host's certificate or key in the deployment folder that would fail on the hosts.
pub(super) struct HostFileFault {
    /// The host's name.
    pub host: String,
    /// The file, relative to the deployment folder.
    pub file: String,
    /// What is wrong with it, said after its path.
    pub fault: String,
}

/// Refuses the deployment folder (`shown` as the config names it) when a host's certificate or
/// key would fail: `faults`, one a host at most, the first for a host that has several. Every
/// host is named at once, in the placement's order: named one a run, each came to light only
/// once the one before it was removed.
pub(super) fn refuse(
    fleet: &FleetPlan,
    faults: impl IntoIterator<Item = HostFileFault>,
    shown: &str,
) -> Result<()> {
    let faults: Vec<HostFileFault> = faults.into_iter().collect();
    let in_order: Vec<&HostFileFault> = fleet
        .hosts
        .iter()
        .filter_map(|host| faults.iter().find(|f| f.host == host.name))
        .collect();
    let error = match in_order.as_slice() {
        [] => return Ok(()),
        [one] => UsageError::new(
            format!("{shown}/{} {}", one.file, one.fault),
            format!(
                "remove it and run `stackr secrets` again: {} gets a new certificate and key",
                one.host
            ),
        ),
        several => UsageError::new(
            format!(
                "{} hosts' certificates or keys would fail on the hosts:{}",
                several.len(),
                several
                    .iter()
                    .map(|f| format!("\n  {shown}/{} {}", f.file, f.fault))
                    .collect::<String>()
            ),
            format!(
                "remove them and run `stackr secrets` again: {} each get a new certificate and key",
                several
                    .iter()
                    .map(|f| f.host.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    };
    Err(error.into())
}

/// The host certificates and keys in the deployment folder `dir` (`shown` as the config names
/// it) that a run with `action` keeps and that would fail on the hosts; an error when the CA
/// certificate they are checked against is none.
pub(super) fn host_files_that_would_fail(
    dir: &Path,
    fleet: &FleetPlan,
    action: CaAction,
    shown: &str,
) -> Result<Vec<HostFileFault>> {
    // A new CA reissues every certificate; without a CA certificate the run fails, saying so.
    let Ok(ca_pem) = std::fs::read_to_string(dir.join(CA_CERT)) else {
        return Ok(Vec::new());
    };
    if replaces_the_ca(dir, action) {
        return Ok(Vec::new());
    }
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes()).ok();
    let Some(anchor) = ca.as_ref().and_then(|ca| anchor_from_trusted_cert(ca).ok()) else {
        return Err(UsageError::new(
            format!("{shown}/{CA_CERT} is not a PEM CA certificate: no host certificate can be checked against it"),
            "restore it from the folder's backup; to replace the CA, run `stackr secrets --rotate-ca` and follow docs/deploy.md, \"Rotating the CA\"",
        )
        .into());
    };
    let previous_ca = std::fs::read(dir.join(PREVIOUS_CA_CERT))
        .ok()
        .and_then(|pem| CertificateDer::from_pem_slice(&pem).ok());
    let previous = previous_ca
        .as_ref()
        .and_then(|ca| anchor_from_trusted_cert(ca).ok());
    let cas = Cas {
        current: anchor,
        previous,
    };
    let now = time::OffsetDateTime::now_utc();
    let faults = fleet
        .hosts
        .iter()
        .filter(|host| keeps_host_certificate(dir, host, &ca_pem, now))
        .filter_map(|host| {
            let (file, fault) = fault(dir, fleet, host, &cas, shown)?;
            Some(HostFileFault {
                host: host.name.clone(),
                file,
                fault,
            })
        });
    Ok(faults.collect())
}

/// The deployment's CA, and the one the last rotation replaced while it is still trusted.
struct Cas<'a> {
    current: TrustAnchor<'a>,
    previous: Option<TrustAnchor<'a>>,
}

/// The file of `host`'s certificate and key that fails on the hosts, and how; checked in the
/// order that names the cause best (a certificate copied from another host has that host's key
/// beside it, or none that fits).
fn fault(
    dir: &Path,
    fleet: &FleetPlan,
    host: &HostPlan,
    cas: &Cas<'_>,
    shown: &str,
) -> Option<(String, String)> {
    let (cert_file, key_file) = (host_cert(&host.name), host_key(&host.name));
    let refused = format!(
        "the other hosts' connections to {}'s servers (nginx, PostgreSQL, Redis) fail at the TLS handshake",
        host.name
    );
    let der = std::fs::read(dir.join(&cert_file))
        .ok()
        .and_then(|pem| CertificateDer::from_pem_slice(&pem).ok());
    let Some(der) = der else {
        return Some((cert_file, "is not a PEM certificate".to_owned()));
    };
    let Ok(cert) = EndEntityCert::try_from(&der) else {
        return Some((cert_file, format!("is no X.509 certificate: {refused}")));
    };
    if let Some(wrong) = wrong_names(&cert, fleet, host) {
        return Some((cert_file, format!("{wrong}: {refused}")));
    }
    let key = std::fs::read_to_string(dir.join(&key_file))
        .ok()
        .and_then(|pem| KeyPair::from_pem(&pem).ok());
    let Some(key) = key else {
        return Some((key_file, "is not a PEM private key".to_owned()));
    };
    if key.public_key_der() != cert.subject_public_key_info().as_ref() {
        return Some((
            key_file,
            format!(
                "is not the key of {shown}/{cert_file}, {}'s certificate: its servers (nginx, PostgreSQL, Redis) cannot start on the pair",
                host.name
            ),
        ));
    }
    let verified = |anchor: &TrustAnchor<'_>| {
        cert.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            std::slice::from_ref(anchor),
            &[],
            UnixTime::now(),
            KeyUsage::server_auth(),
            None,
            None,
        )
        .map(|_| ())
    };
    let wrong = match verified(&cas.current) {
        Ok(()) => return None,
        Err(webpki::Error::CertExpired { not_after, .. }) => {
            format!("ended on {}: {refused}", utc(not_after))
        }
        Err(webpki::Error::CertNotValidYet { not_before, .. }) => format!(
            "is valid only from {}: until then {refused} (or this machine's clock is behind)",
            utc(not_before)
        ),
        Err(_) if cas.previous.as_ref().is_some_and(|ca| verified(ca).is_ok()) => format!(
            "is not signed by the deployment's CA ({shown}/{CA_CERT}) but by the one the last `--rotate-ca` replaced ({shown}/{PREVIOUS_CA_CERT}): once that CA is retired, {refused}"
        ),
        Err(_) => format!(
            "is not signed by the deployment's CA ({shown}/{CA_CERT}), so it is another deployment's or from before a CA rotation: {refused}"
        ),
    };
    Some((cert_file, wrong))
}

/// How `cert` fails to name `host` as the placement does, when it does (one naming the host but
/// another address is never kept: see [`names_another_address`]).
fn wrong_names(cert: &EndEntityCert<'_>, fleet: &FleetPlan, host: &HostPlan) -> Option<String> {
    let names = |name: &str| {
        ServerName::try_from(name)
            .is_ok_and(|name| cert.verify_is_valid_for_subject_name(&name).is_ok())
    };
    if !names(&host.name) {
        if let Some(other) = fleet
            .hosts
            .iter()
            .find(|other| other.name != host.name && names(&other.name))
        {
            return Some(format!(
                "is {other}'s certificate (issued for {other}), not {host}'s",
                other = other.name,
                host = host.name
            ));
        }
        let named: Vec<&str> = cert.valid_dns_names().collect();
        let named = if named.is_empty() {
            "no host name".to_owned()
        } else {
            named.join(", ")
        };
        return Some(format!("is issued for {named}, not for {}", host.name));
    }
    None
}

/// Whether `host`'s certificate in `dir` is issued for its name but not for the address the
/// placement gives it: the host moved in the config, and the certificate is due. One that cannot
/// be read is not: [`fault`] names what is wrong with it.
pub(super) fn names_another_address(dir: &Path, host: &HostPlan) -> bool {
    let Ok(address) = host.address.parse::<IpAddr>() else {
        return false;
    };
    let der = std::fs::read(dir.join(host_cert(&host.name)))
        .ok()
        .and_then(|pem| CertificateDer::from_pem_slice(&pem).ok());
    let Some(cert) = der
        .as_ref()
        .and_then(|der| EndEntityCert::try_from(der).ok())
    else {
        return false;
    };
    let names = |name: ServerName<'_>| cert.verify_is_valid_for_subject_name(&name).is_ok();
    ServerName::try_from(host.name.as_str()).is_ok_and(names) && !names(ServerName::from(address))
}

/// `time` as `2031-01-01 00:00 UTC`.
fn utc(time: UnixTime) -> String {
    let seconds = i64::try_from(time.as_secs()).unwrap_or(i64::MAX);
    match time::OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => format!("{seconds} seconds after 1970"),
    }
}
