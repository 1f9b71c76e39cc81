//! `POST /api/auth/sign-out`: always `200 {"success":true}`; deletes the session when the cookie
//! verifies, and expires the session cookies either way.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::current_session;
use crate::db::sessions;
use crate::error::ApiResult;
use crate::respond;
use crate::state::AppState;

pub async fn post(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(token) = current_session::verified_token(&state, &headers) {
        let client = state.db().await?;
        if sessions::delete_by_token(&client, &token).await? > 0 {
            state.session_cache.invalidate_all();
        }
    }
    Ok(respond::json_with_cookies(
        StatusCode::OK,
        json!({"success": true}),
        state.cookies.expire_session(),
    ))
}
