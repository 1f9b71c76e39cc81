//! Worker of `wallet`: a placeholder that idles until SIGINT/SIGTERM, until the stackr runtime
//! scaffold gives it a BullMQ queue (`STACKR_QUEUE`).

use tokio::signal::unix::{signal, SignalKind};

#[tokio::main]
async fn main() {
    let queue = std::env::var("STACKR_QUEUE").unwrap_or_else(|_| "wallet".to_owned());
    eprintln!("wallet-worker: placeholder worker for queue `{queue}`, waiting for shutdown");
    let mut terminate = signal(SignalKind::terminate()).expect("wallet-worker: cannot watch SIGTERM");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
