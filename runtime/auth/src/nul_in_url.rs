//! A NUL character in a request's URL (`%00`, the only way one gets there) is refused with
//! `400 VALIDATION_ERROR`, as one in a body is (`body.rs`). PostgreSQL's text cannot hold it: a
//! path segment or query parameter with one (a reset link's token, an OAuth state, an account
//! id) that reached a query answered 500 and logged an error, per request, at any anonymous
//! client's will.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

use crate::error::ApiError;

/// Middleware: refuses a request whose decoded path or query holds a NUL character.
pub async fn refuse(req: Request, next: Next) -> Response {
    let holds_nul = req
        .uri()
        .path_and_query()
        .is_some_and(|url| percent_decode_str(url.as_str()).any(|byte| byte == 0));
    if holds_nul {
        return ApiError::validation(crate::body::holds_nul("url")).into_response();
    }
    next.run(req).await
}
