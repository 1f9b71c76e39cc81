//! Running the service: bind, serve with client addresses and the time limits of
//! `stackr_contract::http_server`, shut down gracefully.

use std::net::SocketAddr;

use anyhow::Context;

use stackr_contract::env as contract;
use stackr_contract::http_server::{self, shutdown_signal};
use stackr_contract::socket_activation::{
    inherited_or_bound, inherited_unix, turn_away_waiting, TurnAway, ADMIN_SOCKET, API_SOCKET,
};

use crate::config::AuthConfig;
use crate::state::AppState;

/// Reads the environment, connects, migrates and serves until SIGINT/SIGTERM.
pub async fn run_from_env() -> anyhow::Result<()> {
    let config = AuthConfig::from_env().inspect_err(|_| {
        turn_away_waiting_clients(std::env::var_os(contract::AUTH_TLS_CERT_FILE).is_some());
    })?;
    run(config).await
}

/// When start-up fails before the listeners are taken: the sockets systemd (or `stackr dev`)
/// handed over outlive the process, so the connections waiting on them are answered now, a `503`
/// (closed, on an API that serves HTTPS).
fn turn_away_waiting_clients(https: bool) {
    let api = if https {
        TurnAway::Close
    } else {
        TurnAway::Unavailable
    };
    turn_away_waiting(API_SOCKET, api);
    turn_away_waiting(ADMIN_SOCKET, TurnAway::Unavailable);
}

/// Same as `run_from_env` with an explicit configuration.
pub async fn run(config: AuthConfig) -> anyhow::Result<()> {
    let (listen_address, port) = (config.listen_address, config.port);
    let admin_port = config.admin_port;
    let admin_bind = config.admin_bind;
    let https = config.https.clone();
    let state = AppState::connect(config)
        .await
        .inspect_err(|_| turn_away_waiting_clients(https.is_some()))?;
    crate::phase_timings::start_from_env();
    crate::housekeeping::spawn(state.clone());
    let api = match inherited_unix(API_SOCKET).context("reading systemd's API socket")? {
        Some(socket) => Api::BehindBalancer(tokio::net::UnixListener::from_std(socket)?),
        None => Api::Tcp(
            listen(API_SOCKET, (listen_address, port).into()).with_context(|| {
                format!("cannot listen on LISTEN_ADDRESS {listen_address} PORT {port}")
            })?,
        ),
    };
    let behind_balancer = matches!(api, Api::BehindBalancer(_));
    tracing::info!(port, base_url = %state.config.base_url, https = https.is_some(), behind_balancer, "stackr-auth listening");
    if let Some(admin_port) = admin_port {
        let admin = crate::admin_page::router(state.clone());
        let admin_listener =
            listen(ADMIN_SOCKET, (admin_bind, admin_port).into()).with_context(|| {
                format!(
                    "cannot listen on AUTH_ADMIN_BIND {admin_bind} AUTH_ADMIN_PORT {admin_port}"
                )
            })?;
        tracing::info!(%admin_bind, port = admin_port, "admin dashboard listening");
        tokio::spawn(async move {
            let serving = http_server::serve(admin_listener, admin, std::future::pending());
            if let Err(e) = serving.await {
                tracing::error!(error = %e, "admin page server stopped");
            }
        });
    }
    // `Type=notify` units: ready once both listeners are bound, so units ordered after auth find
    // it answering. A no-op outside systemd (no `NOTIFY_SOCKET`).
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
        tracing::warn!(error = %e, "could not tell systemd the service is ready");
    }
    match (api, https) {
        (Api::BehindBalancer(socket), None) => serve_behind_balancer(socket, state).await,
        (Api::BehindBalancer(_), Some(_)) => anyhow::bail!(
            "systemd handed over a Unix socket as `{API_SOCKET}`, which serves plain HTTP to the \
             host's load balancer, but AUTH_TLS_CERT_FILE asks for HTTPS: leave one out"
        ),
        (Api::Tcp(listener), Some(tls)) => serve_tls(listener, tls, state).await,
        (Api::Tcp(listener), None) => serve(listener, state).await,
    }
}

/// Where the API listens.
enum Api {
    /// A port: its peers are the clients, or proxies listed in `AUTH_TRUSTED_PROXIES`.
    Tcp(tokio::net::TcpListener),
    /// A socket file only the host's load balancer may open (see `serve_behind_balancer`).
    BehindBalancer(tokio::net::UnixListener),
}

/// A Unix socket's connections, every one from the host's load balancer (the only one that may
/// open the socket file): their peer is [`crate::client_ip::LOCAL_PROXY`].
struct FromBalancer(tokio::net::UnixListener);

impl axum::serve::Listener for FromBalancer {
    type Io = tokio::net::UnixStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, _) = axum::serve::Listener::accept(&mut self.0).await;
        (io, crate::client_ip::LOCAL_PROXY)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(crate::client_ip::LOCAL_PROXY)
    }
}

/// Serves the API on a Unix socket only the host's load balancer may open, believing its
/// `X-Forwarded-For` (see `client_ip`).
pub async fn serve_behind_balancer(
    listener: tokio::net::UnixListener,
    state: AppState,
) -> anyhow::Result<()> {
    let app = crate::routes::router(state);
    http_server::serve(FromBalancer(listener), app, shutdown_signal())
        .await
        .context("HTTP server on the load balancer's socket failed")
}

/// The socket systemd holds for `name`, else one bound to `address`.
fn listen(name: &str, address: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::from_std(inherited_or_bound(name, address)?)
}

/// Serves the API on an already-bound listener (tests bind port 0 and read the address).
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> anyhow::Result<()> {
    let app = crate::routes::router(state);
    http_server::serve(listener, app, shutdown_signal())
        .await
        .context("HTTP server failed")
}

/// [`serve`] over TLS with `tls` (the host's certificate and key).
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: std::sync::Arc<stackr_tls::server::ServerConfig>,
    state: AppState,
) -> anyhow::Result<()> {
    let app = crate::routes::router(state);
    let listener =
        crate::tls::TlsListener::new(listener, tls).context("reading the listener's address")?;
    http_server::serve(listener, app, shutdown_signal())
        .await
        .context("HTTPS server failed")
}
