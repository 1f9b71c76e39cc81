//! Session management: `list-sessions`, `revoke-session`, `revoke-sessions`,
//! `revoke-other-sessions`. All re-read the session from the database.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::body::Body;
use crate::current_session;
use crate::db::sessions;
use crate::error::ApiResult;
use crate::respond;
use crate::state::AppState;

/// `GET /list-sessions`: needs a *fresh* session (created less than `freshAge` ago).
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let current = current_session::require_fresh(&state, &headers).await?;
    let client = state.db().await?;
    let list = sessions::list_active(&client, &current.user.id).await?;
    Ok(respond::ok_json(Value::Array(
        list.iter().map(crate::json::session).collect(),
    )))
}

/// `POST /revoke-session {token}`: only the caller's own sessions; unknown tokens succeed silently.
pub async fn revoke_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let mut body = Body::parse(&headers, &bytes, false)?;
    let token = body.string("token");
    body.check()?;
    let current = current_session::require(&state, &headers).await?;
    let client = state.db().await?;
    sessions::delete_user_token(&client, &current.user.id, &token).await?;
    let cookies = if token == current.session.token {
        state.cookies.expire_session()
    } else {
        Vec::new()
    };
    Ok(respond::json_with_cookies(
        StatusCode::OK,
        json!({"status": true}),
        cookies,
    ))
}

/// `POST /revoke-sessions`: every session of the caller, cookies cleared.
pub async fn revoke_all(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let current = current_session::require(&state, &headers).await?;
    let client = state.db().await?;
    sessions::delete_all_for_user(&client, &current.user.id).await?;
    Ok(respond::json_with_cookies(
        StatusCode::OK,
        json!({"status": true}),
        state.cookies.expire_session(),
    ))
}

/// `POST /revoke-other-sessions`: all but the current one.
pub async fn revoke_others(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let current = current_session::require(&state, &headers).await?;
    let client = state.db().await?;
    sessions::delete_others(&client, &current.user.id, &current.session.token).await?;
    Ok(respond::ok_json(json!({"status": true})))
}
