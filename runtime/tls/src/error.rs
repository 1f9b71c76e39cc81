use std::path::PathBuf;

/// A TLS setting that cannot work; each says which file or setting and what to do.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA file {path} ({origin}): {source}")]
    CaUnreadable {
        origin: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the CA file {path} ({origin}) holds no PEM certificate: it must be the deployment CA's certificate (tls-ca.crt, written by `stackr secrets`)")]
    CaEmpty { origin: &'static str, path: PathBuf },
    #[error("the CA file {path} ({origin}) is not a usable CA certificate: {reason}")]
    CaInvalid {
        origin: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("sslmode={mode} is not supported: use sslmode=verify-full (TLS, the server verified against the deployment CA and by host name), or no sslmode for a plain connection on one host")]
    UnsupportedSslMode { mode: String },
    #[error("sslmode=verify-full needs the CA to verify the server with: set TLS_CA_FILE, or sslrootcert=<file> in the URL")]
    NoCa,
    #[error(
        "sslmode=verify-full needs a host name to verify (a host= or URL host, not a Unix socket)"
    )]
    NoHostName,
    #[error("a plain PostgreSQL connection (no sslmode) goes to one server, as it is made here: {setting} is not supported without sslmode=verify-full; name one host")]
    PlainNeedsOneHost { setting: &'static str },
    #[error("not a PostgreSQL URL: {0}")]
    PostgresUrl(String),
    #[error("cannot read the TLS {what} {path}: {reason}")]
    ServerIdentity {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
}
