//! The server side: a certificate chain and key (secret files) as a rustls server config.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use rustls::ServerConfig;
pub use tokio_rustls::server::TlsStream;
pub use tokio_rustls::TlsAcceptor;

use crate::TlsError;

/// A server config presenting `cert` (PEM chain) with `key` (PEM private key), HTTP/2 or 1.1.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let identity = |what: &'static str, path: &Path, reason: String| TlsError::ServerIdentity {
        what,
        path: path.to_owned(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(std::iter::Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| identity("certificate", cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(identity(
            "certificate",
            cert,
            "no PEM certificate in it".into(),
        ));
    }
    let private_key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| identity("private key", key, e.to_string()))?;
    let mut config = ServerConfig::builder_with_provider(crate::provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| {
            identity(
                "private key",
                key,
                format!("does not match the certificate {} ({e})", cert.display()),
            )
        })?;
    // The runtime's servers speak HTTP/1.1 only (`stackr_contract::http_server`): a client
    // offered h2 would choose it and find no one speaking it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
