//! HTTPS for auth's API: with `AUTH_TLS_CERT_FILE` and `AUTH_TLS_KEY_FILE` (secret files, the
//! host's certificate from the deployment CA) the API speaks TLS itself, for deployments where
//! the services of other hosts reach it without a TLS load balancer in front. Handshakes run
//! apart from the accept loop, so a slow or failing client never holds up the others.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use stackr_contract::env as contract;
use stackr_tls::server::{ServerConfig, TlsAcceptor, TlsStream};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections handshaken but not yet taken by the server.
const BACKLOG: usize = 128;

/// Both files or neither: one alone is a deployment mistake, said so.
pub fn https_from_env(
    var: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<Arc<ServerConfig>>> {
    match (
        var(contract::AUTH_TLS_CERT_FILE),
        var(contract::AUTH_TLS_KEY_FILE),
    ) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => Ok(Some(stackr_tls::server::server_config(
            Path::new(&cert),
            Path::new(&key),
        )?)),
        (Some(_), None) => bail!(
            "{} is set but {} is not: set both (the certificate and its private key) to serve HTTPS, or neither",
            contract::AUTH_TLS_CERT_FILE,
            contract::AUTH_TLS_KEY_FILE
        ),
        (None, Some(_)) => bail!(
            "{} is set but {} is not: set both (the certificate and its private key) to serve HTTPS, or neither",
            contract::AUTH_TLS_KEY_FILE,
            contract::AUTH_TLS_CERT_FILE
        ),
    }
}

/// Accepted, handshaken TLS connections, for `axum::serve`.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (ready_tx, ready) = mpsc::channel(BACKLOG);
        let acceptor = TlsAcceptor::from(config);
        let accepting = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: pause rather than spin.
                        tracing::warn!(error = %e, "accepting a TLS connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let ready_tx = ready_tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = ready_tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            ready,
            local,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // Frees the port when the server stops.
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop holds a sender until the listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn https_needs_both_files_or_neither() {
        assert!(https_from_env(&lookup(&[])).unwrap().is_none());
        let err = https_from_env(&lookup(&[(contract::AUTH_TLS_CERT_FILE, "/x.crt")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(contract::AUTH_TLS_KEY_FILE) && err.contains("set both"),
            "{err}"
        );
        let err = https_from_env(&lookup(&[
            (contract::AUTH_TLS_CERT_FILE, "/nonexistent/tls-host.crt"),
            (contract::AUTH_TLS_KEY_FILE, "/nonexistent/tls-host.key"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("/nonexistent/tls-host.crt"), "{err}");
    }
}
