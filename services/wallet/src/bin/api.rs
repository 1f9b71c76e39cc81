//! API of `wallet`: a placeholder that answers `GET /health` until the stackr runtime
//! scaffold replaces it. Reads `PORT` as every stackr process does.

use axum::{http::header, routing::get, Router};

#[tokio::main]
async fn main() {
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(8081);
    let app = Router::new().route(
        "/health",
        get(|| async {
            (
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"status":"ok","service":"wallet"}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|err| panic!("wallet-api: cannot listen on 127.0.0.1:{port}: {err}"));
    eprintln!("wallet-api: listening on http://127.0.0.1:{port}");
    axum::serve(listener, app).await.expect("wallet-api: server failed");
}
