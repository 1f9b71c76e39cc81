//! `GET /api/auth/user-status?userId=…` (docs/runtime-contract.md, "Owner status protocol"): a
//! base service asks whether the owner of a credential it derived from a session (a device
//! session) still stands. Proven by the service credential alone, as for provisioning: there is
//! no user cookie when a device calls.
//!
//! Answers `200 {"userId","banned","credentialEpoch"}`, or `404 USER_NOT_FOUND` once the user is
//! deleted. The epoch moves on whenever the user's sessions are revoked wholesale, or another of
//! their own (`revoke-session`, an admin's `revoke-user-session`), so a derived
//! credential stamped with an older epoch is dead.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::provision::authenticate_service;
use crate::db::credential_epoch;
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::respond;
use crate::state::AppState;

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    authenticate_service(&state, &headers)?;
    let user_id = query
        .get("userId")
        .map(|id| id.trim())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(error_codes::USER_ID_REQUIRED, "userId is required")
        })?;
    let client = state.db().await?;
    match credential_epoch::owner_status(&client, user_id).await? {
        Some(status) => Ok(respond::ok_json(json!({
            "userId": user_id,
            "banned": status.banned,
            "credentialEpoch": status.epoch,
        }))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            error_codes::USER_NOT_FOUND,
            "User not found",
        )),
    }
}
