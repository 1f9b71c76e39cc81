//! `POST /api/auth/update-session`: sets the session's own additional fields. This service
//! declares none a client may set, so a signed-in caller always learns that there is nothing to
//! update, except for `impersonatedBy` (server-only, as in BetterAuth's admin plugin), which is
//! refused by name. The body must be a JSON object (BetterAuth validates it as a record).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::body::{js_type, Body};
use crate::current_session;
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::state::AppState;

/// Session fields only the server sets.
const SERVER_ONLY_FIELDS: [&str; 1] = ["impersonatedBy"];

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    current_session::require(&state, &headers).await?;
    let body = Body::parse(&headers, &bytes, false).map_err(|e| {
        if e.code() != Some("BODY_MUST_BE_AN_OBJECT") {
            return e;
        }
        let given: Option<Value> = serde_json::from_slice(&bytes).ok();
        ApiError::validation(format!(
            "[body] Invalid input: expected record, received {}",
            js_type(given.as_ref())
        ))
    })?;
    for field in SERVER_ONLY_FIELDS {
        // BetterAuth ignores a falsy value for a server-only field.
        if body.map().get(field).is_some_and(is_truthy) {
            return Err(ApiError::bad_request(
                error_codes::FIELD_NOT_ALLOWED,
                &format!("{field} is not allowed to be set"),
            ));
        }
    }
    Err(ApiError::message_only(
        StatusCode::BAD_REQUEST,
        "No fields to update",
    ))
}

/// JavaScript truthiness of a JSON value.
fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}
