//! A NUL character in a request's URL (see `stackr_contract::http_server::url_holds_nul`) is
//! refused: by the API with `400 VALIDATION_ERROR`, as one in a body is (`body.rs`), by the admin
//! dashboard with a 400 page.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use stackr_contract::http_server::url_holds_nul;

use crate::error::ApiError;

/// Middleware of the API: refuses a request whose URL holds a NUL character.
pub async fn refuse(req: Request, next: Next) -> Response {
    if url_holds_nul(req.uri()) {
        return ApiError::validation(crate::body::holds_nul("url")).into_response();
    }
    next.run(req).await
}

/// Middleware of the admin dashboard: the same, as a page.
pub async fn refuse_page(req: Request, next: Next) -> Response {
    if url_holds_nul(req.uri()) {
        return crate::admin_page::bad_request();
    }
    next.run(req).await
}
