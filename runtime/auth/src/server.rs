//! Running the service: bind, serve with client addresses, shut down gracefully.

use std::net::SocketAddr;

use anyhow::Context;

use stackr_contract::socket_activation::{inherited_or_bound, ADMIN_SOCKET, API_SOCKET};

use crate::config::AuthConfig;
use crate::state::AppState;

/// Reads the environment, connects, migrates and serves until SIGINT/SIGTERM.
pub async fn run_from_env() -> anyhow::Result<()> {
    let config = AuthConfig::from_env()?;
    run(config).await
}

/// Same as `run_from_env` with an explicit configuration.
pub async fn run(config: AuthConfig) -> anyhow::Result<()> {
    let (listen_address, port) = (config.listen_address, config.port);
    let admin_port = config.admin_port;
    let admin_bind = config.admin_bind;
    let https = config.https.clone();
    let state = AppState::connect(config).await?;
    crate::phase_timings::start_from_env();
    crate::housekeeping::spawn(state.clone());
    let listener = listen(API_SOCKET, (listen_address, port).into())
        .with_context(|| format!("cannot listen on LISTEN_ADDRESS {listen_address} PORT {port}"))?;
    tracing::info!(port, base_url = %state.config.base_url, https = https.is_some(), "stackr-auth listening");
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
            let admin = admin.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(admin_listener, admin).await {
                tracing::error!(error = %e, "admin page server stopped");
            }
        });
    }
    // `Type=notify` units: ready once both listeners are bound, so units ordered after auth find
    // it answering. A no-op outside systemd (no `NOTIFY_SOCKET`).
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
        tracing::warn!(error = %e, "could not tell systemd the service is ready");
    }
    match https {
        Some(tls) => serve_tls(listener, tls, state).await,
        None => serve(listener, state).await,
    }
}

/// The socket systemd holds for `name`, else one bound to `address`.
fn listen(name: &str, address: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::from_std(inherited_or_bound(name, address)?)
}

/// Serves the API on an already-bound listener (tests bind port 0 and read the address).
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> anyhow::Result<()> {
    let app = crate::routes::router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("HTTP server failed")
}

/// [`serve`] over TLS with `tls` (the host's certificate and key).
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: std::sync::Arc<stackr_tls::server::ServerConfig>,
    state: AppState,
) -> anyhow::Result<()> {
    use axum::serve::ListenerExt;
    let app = crate::routes::router(state);
    // `tap_io` only so that axum gives handlers the client's address (`ConnectInfo`), which it
    // does for a tapped listener of any kind.
    let listener = crate::tls::TlsListener::new(listener, tls)
        .context("reading the listener's address")?
        .tap_io(|_| {});
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("HTTPS server failed")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
