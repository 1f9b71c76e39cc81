//! The deployment's CA certificates (during a rotation, the bundle holds the previous CA too).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use stackr_contract::env as contract;

use crate::TlsError;

/// The CA certificates a client trusts: nothing else (no system roots), so only the deployment's
/// own hosts can be reached over TLS.
#[derive(Clone)]
pub struct TrustedCa {
    path: PathBuf,
    pem: Arc<[u8]>,
    roots: Arc<RootCertStore>,
}

impl TrustedCa {
    /// Reads `TLS_CA_FILE` when `lookup` has it (empty counts as unset).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Option<Self>, TlsError> {
        match lookup(contract::TLS_CA_FILE).filter(|v| !v.trim().is_empty()) {
            Some(path) => Self::from_file(Path::new(path.trim()), contract::TLS_CA_FILE).map(Some),
            None => Ok(None),
        }
    }

    /// Reads the PEM certificates of `path`; `origin` names the setting that pointed there.
    pub fn from_file(path: &Path, origin: &'static str) -> Result<Self, TlsError> {
        let pem = std::fs::read(path).map_err(|source| TlsError::CaUnreadable {
            origin,
            path: path.to_owned(),
            source,
        })?;
        let invalid = |reason: String| TlsError::CaInvalid {
            origin,
            path: path.to_owned(),
            reason,
        };
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| invalid(format!("bad PEM ({e})")))?;
            roots.add(cert).map_err(|e| invalid(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(TlsError::CaEmpty {
                origin,
                path: path.to_owned(),
            });
        }
        Ok(TrustedCa {
            path: path.to_owned(),
            pem: pem.into(),
            roots: Arc::new(roots),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The certificates as read (PEM), for clients that take PEM.
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }

    /// A client config trusting these CAs only; rustls checks the chain and the host name.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        let config = ClientConfig::builder_with_provider(crate::provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(self.roots.clone())
            .with_no_client_auth();
        Arc::new(config)
    }
}

impl PartialEq for TrustedCa {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.pem == other.pem
    }
}

impl Eq for TrustedCa {}

impl fmt::Debug for TrustedCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrustedCa({})", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_is_none_and_a_bad_file_is_named() {
        assert!(TrustedCa::from_lookup(&|_| None).unwrap().is_none());
        let missing = TrustedCa::from_lookup(&|_| Some("/nonexistent/tls-ca".into()))
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("/nonexistent/tls-ca") && missing.contains(contract::TLS_CA_FILE),
            "{missing}"
        );
        let dir = std::env::temp_dir().join(format!("stackr-tls-ca-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate\n").unwrap();
        let empty = TrustedCa::from_file(&dir, contract::TLS_CA_FILE)
            .unwrap_err()
            .to_string();
        std::fs::remove_file(&dir).unwrap();
        assert!(empty.contains("holds no PEM certificate"), "{empty}");
    }
}
