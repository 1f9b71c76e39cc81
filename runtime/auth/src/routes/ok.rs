//! `GET /api/auth/ok` and `GET /health`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

pub async fn ok() -> Response {
    axum::Json(json!({"ok": true})).into_response()
}

/// Readiness: answers 200 only when PostgreSQL answers, so supervisors wait for a usable service.
pub async fn health(State(state): State<AppState>) -> Response {
    let db_ok =
        match tokio::time::timeout(std::time::Duration::from_secs(2), state.pool.get()).await {
            Ok(Ok(client)) => client.simple_query("select 1").await.is_ok(),
            _ => false,
        };
    if db_ok {
        axum::Json(json!({"status": "ok", "database": "ok"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unavailable", "database": "unreachable"})),
        )
            .into_response()
    }
}
