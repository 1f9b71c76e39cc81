//! The admin page on `AUTH_ADMIN_PORT` (loopback only). Placeholder until the page is built.

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { "stackr-auth admin" }))
        .with_state(state)
}
