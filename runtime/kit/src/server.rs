//! Serving with graceful shutdown: on SIGTERM/SIGINT the listener closes and in-flight requests
//! finish before the process exits. Slow clients get the time limits of
//! [`stackr_contract::http_server`].

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use tokio::net::TcpListener;

pub use stackr_contract::http_server::{
    shutdown_signal, BODY_BYTES_ALWAYS_TAKEN, BODY_TIME_LIMIT, HEADER_TIME_LIMIT,
    MAX_BUFFERED_BODY_BYTES, MIN_FRAME_BYTES, WRITE_STALL_LIMIT,
};

/// Serves `app` on `address:port` (or on the socket systemd holds for it) until SIGTERM or Ctrl-C.
pub async fn serve(app: Router, address: IpAddr, port: u16) -> std::io::Result<()> {
    let listener = stackr_contract::socket_activation::inherited_or_bound(
        stackr_contract::socket_activation::API_SOCKET,
        SocketAddr::from((address, port)),
    )?;
    serve_on(TcpListener::from_std(listener)?, app, shutdown_signal()).await
}

/// Serves on an already bound listener until `shutdown` completes (tests pass their own).
pub async fn serve_on(
    listener: TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "listening");
    notify_ready();
    stackr_contract::http_server::serve(listener, app, shutdown).await?;
    tracing::info!("shut down");
    Ok(())
}

/// Tells systemd (`Type=notify` units) that the process is ready: the listener is bound, so
/// units ordered after this one find it answering. A no-op outside systemd (no `NOTIFY_SOCKET`).
pub fn notify_ready() {
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
        tracing::warn!(error = %e, "could not tell systemd the service is ready");
    }
}
