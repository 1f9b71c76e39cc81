//! `DATABASE_URL` with TLS. The URL speaks libpq's words (`sslmode=verify-full`,
//! `sslrootcert=<file>`), which tokio-postgres does not parse; they are taken out here and become a
//! connector that verifies the server's certificate against the CA and the URL's host name.
//! Without `sslmode` the connection is plain (one host, loopback), as it always was. Modes that
//! would encrypt without verifying (`require`, `verify-ca`, `prefer`, `allow`) are refused rather
//! than quietly weakened.

use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

use crate::{TlsError, TrustedCa};

/// Where `sslrootcert` came from, for error messages.
const SSLROOTCERT: &str = "sslrootcert of the PostgreSQL URL";

/// Parses `url` and says how to connect: plain, or TLS verified against `sslrootcert` (when the
/// URL names one) or `env_ca` (`TLS_CA_FILE`).
pub fn config(
    url: &str,
    env_ca: Option<&TrustedCa>,
) -> Result<(tokio_postgres::Config, PostgresTls), TlsError> {
    let (rest, tls) = take_tls_params(url);
    let mut config: tokio_postgres::Config = rest
        .parse()
        .map_err(|e: tokio_postgres::Error| TlsError::PostgresUrl(e.to_string()))?;
    crate::postgres_host::notice_a_dead_host(&mut config);
    match tls.sslmode.as_deref() {
        None | Some("disable") => {
            // tokio-postgres's own parse (key=value form) may have read a mode that encrypts
            // without verifying.
            if tls.sslmode.is_none() && config.get_ssl_mode() == SslMode::Require {
                return Err(TlsError::UnsupportedSslMode {
                    mode: "require".into(),
                });
            }
            config.ssl_mode(SslMode::Disable);
            crate::postgres_login::check_plain(&config)?;
            Ok((config, PostgresTls { client: None }))
        }
        Some("verify-full") => {
            let ca = match tls.sslrootcert {
                Some(path) => TrustedCa::from_file(Path::new(&path), SSLROOTCERT)?,
                None => env_ca.cloned().ok_or(TlsError::NoCa)?,
            };
            let hosts = config.get_hosts();
            if hosts.is_empty() || hosts.iter().any(|h| matches!(h, Host::Unix(_))) {
                return Err(TlsError::NoHostName);
            }
            config.ssl_mode(SslMode::Require);
            Ok((
                config,
                PostgresTls {
                    client: Some(ca.client_config()),
                },
            ))
        }
        Some(other) => Err(TlsError::UnsupportedSslMode {
            mode: other.to_owned(),
        }),
    }
}

/// The pool manager of `config`'s connections: TLS ones as tokio-postgres makes them (the
/// certificate proves the server), plain ones through [`crate::postgres_login`] (SCRAM proves it).
pub fn manager(config: tokio_postgres::Config, tls: PostgresTls) -> deadpool_postgres::Manager {
    let manager_config = deadpool_postgres::ManagerConfig {
        recycling_method: deadpool_postgres::RecyclingMethod::Fast,
    };
    if tls.is_tls() {
        deadpool_postgres::Manager::from_config(config, tls, manager_config)
    } else {
        deadpool_postgres::Manager::from_connect(
            config,
            crate::postgres_login::WatchedLogin,
            manager_config,
        )
    }
}

#[derive(Default)]
struct TlsParams {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

/// Splits the TLS parameters off a `postgres://` URL's query; other forms are returned as given.
fn take_tls_params(url: &str) -> (String, TlsParams) {
    let mut params = TlsParams::default();
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let Some((base, query)) = url.split_once('?').filter(|_| is_url) else {
        return (url.to_owned(), params);
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let decoded = url::form_urlencoded::parse(pair.as_bytes()).next();
        match decoded {
            Some((key, value)) if key == "sslmode" => params.sslmode = Some(value.into_owned()),
            Some((key, value)) if key == "sslrootcert" => {
                params.sslrootcert = Some(value.into_owned());
            }
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (rest, params)
}

/// tokio-postgres's TLS connector: verifying (rustls, the CA only, the host name) or plain, which
/// tokio-postgres never asks to encrypt (its config says `sslmode=disable`).
#[derive(Clone)]
pub struct PostgresTls {
    client: Option<Arc<ClientConfig>>,
}

impl PostgresTls {
    /// A connector for plain connections only.
    pub fn plain() -> Self {
        PostgresTls { client: None }
    }

    /// Whether connections are TLS.
    pub fn is_tls(&self) -> bool {
        self.client.is_some()
    }
}

impl std::fmt::Debug for PostgresTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_tls() {
            "PostgresTls(verify-full)"
        } else {
            "PostgresTls(plain)"
        })
    }
}

/// Why a TLS connection to PostgreSQL failed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("PostgreSQL at {host} asked for TLS, which this connection is not configured for")]
    NotConfigured { host: String },
    #[error("`{host}` is not a host name or address a certificate can be verified for")]
    BadName { host: String },
    #[error("TLS with PostgreSQL at {host} failed: {source}{hint}")]
    Failed {
        host: String,
        hint: &'static str,
        source: io::Error,
    },
}

impl<S> MakeTlsConnect<S> for PostgresTls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = VerifiedStream<S>;
    type TlsConnect = Connect;
    type Error = HandshakeError;

    // Called for every connection, TLS or not: errors wait for `connect`, which tokio-postgres
    // calls only when it encrypts.
    fn make_tls_connect(&mut self, host: &str) -> Result<Connect, HandshakeError> {
        Ok(Connect {
            client: self.client.clone(),
            host: host.to_owned(),
        })
    }
}

/// One connection's handshake.
pub struct Connect {
    client: Option<Arc<ClientConfig>>,
    host: String,
}

impl<S> TlsConnect<S> for Connect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = VerifiedStream<S>;
    type Error = HandshakeError;
    type Future = Pin<Box<dyn Future<Output = Result<VerifiedStream<S>, HandshakeError>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let Connect { client, host } = self;
            let client =
                client.ok_or_else(|| HandshakeError::NotConfigured { host: host.clone() })?;
            let name = ServerName::try_from(host.clone())
                .map_err(|_| HandshakeError::BadName { host: host.clone() })?;
            tokio_rustls::TlsConnector::from(client)
                .connect(name, stream)
                .await
                .map(VerifiedStream)
                .map_err(|source| HandshakeError::Failed {
                    hint: if crate::refusal::tls_refused(&source).is_some() {
                        " (the server's certificate must be issued by the trusted CA for this host name)"
                    } else {
                        ""
                    },
                    host,
                    source,
                })
        })
    }
}

/// A TLS stream whose server was verified.
pub struct VerifiedStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for VerifiedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for VerifiedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for VerifiedStream<S> {
    // No SCRAM channel binding: the server is already authenticated by its certificate, and
    // the binding's hash would have to follow each certificate's signature algorithm.
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_leave_the_url_and_others_stay() {
        let (rest, tls) = take_tls_params(
            "postgres://core@data:5432/core?application_name=x&sslmode=verify-full&sslrootcert=%2Frun%2Fca",
        );
        assert_eq!(rest, "postgres://core@data:5432/core?application_name=x");
        assert_eq!(tls.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(tls.sslrootcert.as_deref(), Some("/run/ca"));
    }

    #[test]
    fn no_sslmode_is_plain_and_weak_modes_are_refused() {
        let (config, tls) = super::config("postgres://core@127.0.0.1:5432/core", None).unwrap();
        assert_eq!(config.get_ssl_mode(), SslMode::Disable);
        assert!(!tls.is_tls());
        for mode in ["require", "verify-ca", "prefer", "allow"] {
            let url = format!("postgres://core@data:5432/core?sslmode={mode}");
            let err = super::config(&url, None).unwrap_err().to_string();
            assert!(
                err.contains(&format!("sslmode={mode} is not supported")),
                "{err}"
            );
        }
    }

    #[test]
    fn verify_full_needs_a_ca() {
        let err = super::config("postgres://core@data:5432/core?sslmode=verify-full", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("set TLS_CA_FILE"), "{err}");
        let err = super::config(
            "postgres://core@data:5432/core?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("/nonexistent/ca.crt") && err.contains("sslrootcert"),
            "{err}"
        );
    }

    /// What a server on loopback that is not the stack's (any local user can bind a server's
    /// port while it is down) gets from a client of the stack's pool, when it answers the
    /// client's start-up with `reply`: everything the client sends after its start-up message,
    /// and the pool's error.
    fn what_an_impostor_gets(reply: Vec<u8>) -> (Vec<u8>, String) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let impostor = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut length = [0u8; 4];
            socket.read_exact(&mut length).unwrap();
            let mut startup = vec![0u8; u32::from_be_bytes(length) as usize - 4];
            socket.read_exact(&mut startup).unwrap();
            socket.write_all(&reply).unwrap();
            socket
                .set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            let mut received = Vec::new();
            let _ = socket.read_to_end(&mut received);
            received
        });
        let url = format!("postgres://core@127.0.0.1:{port}/core");
        let (mut config, tls) = super::config(&url, None).unwrap();
        config.password("the-core-db-password");
        config.connect_timeout(std::time::Duration::from_secs(5));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let error = runtime.block_on(async {
            let pool = deadpool_postgres::Pool::builder(manager(config, tls))
                .max_size(1)
                .build()
                .unwrap();
            match pool.get().await {
                Ok(_) => "the pool handed out a connection to the impostor".to_owned(),
                Err(e) => {
                    assert!(crate::refusal::refused_for_good(&e), "{e:?}");
                    crate::refusal::full_message(&e)
                }
            }
        });
        (impostor.join().unwrap(), error)
    }

    /// The stack's servers log a role in only by SCRAM, which never shows the password and makes
    /// the server prove it knows it: a server asking for the password in clear or as MD5, or
    /// letting the role in with no proof, is refused before the client answers anything.
    #[test]
    fn a_server_that_does_not_prove_itself_by_scram_gets_nothing() {
        let cleartext = vec![b'R', 0, 0, 0, 8, 0, 0, 0, 3];
        let md5 = vec![b'R', 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4];
        // AuthenticationOk, then ReadyForQuery: a trust login, the connection ready for queries.
        let trust = vec![b'R', 0, 0, 0, 8, 0, 0, 0, 0, b'Z', 0, 0, 0, 5, b'I'];
        for (reply, asked) in [
            (cleartext, "asked for the password in clear text"),
            (md5, "asked for the password as an MD5 hash"),
            (trust, "let the role in without SCRAM"),
        ] {
            let (received, error) = what_an_impostor_gets(reply);
            assert_eq!(received, b"", "the client answered a server that {asked}");
            assert!(
                error.contains("PostgreSQL at 127.0.0.1:") && error.contains(asked),
                "{error}"
            );
        }
    }
}
