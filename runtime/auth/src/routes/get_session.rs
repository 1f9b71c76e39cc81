//! `GET /api/auth/get-session`: the hot path every base service's guard calls.
//!
//! `200 null` when there is no valid session (absent, tampered, unknown, expired); otherwise
//! `{session, user}`. Sliding refresh once `updateAge` has passed since the last refresh, unless
//! the browser asked not to be remembered. Never rate-limited (see `rate_limit`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::current_session::{self, Lookup};
use crate::db::sessions;
use crate::error::{ApiError, ApiResult};
use crate::respond;
use crate::state::AppState;

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// zod `coerce.boolean`: any non-empty value is true (even `"false"`).
fn flag(query: &HashMap<String, String>, name: &str) -> bool {
    query.get(name).is_some_and(|v| !v.is_empty())
}

pub async fn get(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let res = match current_session::lookup(&state, &headers).await? {
        Lookup::Absent => respond::ok_json(Value::Null),
        Lookup::Gone => respond::json_with_cookies(
            StatusCode::OK,
            Value::Null,
            state.cookies.expire_session(),
        ),
        Lookup::Found(mut current) => {
            let mut cookies = Vec::new();
            let cfg = &state.config.session;
            let expires_in = Duration::from_std(cfg.expires_in).unwrap_or(Duration::days(7));
            let update_age = Duration::from_std(cfg.update_age).unwrap_or(Duration::days(1));
            let due = current.session.expires_at - expires_in + update_age <= Utc::now();
            if due && !current.dont_remember && !flag(&query, "disableRefresh") {
                let client = state.db().await?;
                let new_expiry = crate::db::now_ms() + expires_in;
                let updated = sessions::extend(&client, &current.session.id, new_expiry).await?;
                current.session.expires_at = new_expiry;
                current.session.updated_at = updated;
                cookies = current_session::session_cookies(&state, &current.session.token, true);
            }
            respond::json_with_cookies(
                StatusCode::OK,
                json!({
                    "session": crate::json::session(&current.session),
                    "user": state.user_json(&current.user),
                }),
                cookies,
            )
        }
    };
    Ok(no_store(res))
}

/// BetterAuth only serves POST when `deferSessionRefresh` is on; we keep its default answer.
pub async fn post() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED",
        "POST method requires deferSessionRefresh to be enabled in session config",
    )
    .into_response()
}
