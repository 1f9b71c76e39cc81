//! Another service for the peer client to call: a plain HTTP server on a free loopback port.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

/// Serves `app` on a free loopback port; returns its origin.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A peer whose `/me` answers with the cookie it received, `/private` refuses, `/slow` never
/// answers in time and `/garbage` is not JSON.
pub async fn peer() -> String {
    serve(
        Router::new()
            .route(
                "/me",
                get(|headers: HeaderMap| async move {
                    let cookie = headers
                        .get("cookie")
                        .map(|c| c.to_str().unwrap().to_owned());
                    Json(json!({ "cookie": cookie }))
                }),
            )
            .route(
                "/private",
                get(|| async { (StatusCode::FORBIDDEN, Json(json!({ "code": "FORBIDDEN" }))) }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "late"
                }),
            )
            .route("/garbage", get(|| async { "not json" })),
    )
    .await
}
