//! `has-permission`: whether the signed-in caller's roles grant the given permissions.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::body::JsonBody;
use crate::current_session::{self, Lookup};
use crate::error::{ApiError, ApiResult};
use crate::respond;
use crate::state::AppState;

pub async fn has_permission(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let permissions = body.map().get("permissions").cloned();
    body.opt_string("userId");
    body.opt_string("role");
    body.check()?;
    // Exactly one of `permission` (the older name, which no longer checks anything) and
    // `permissions` must be given.
    if body.has("permission") == permissions.is_some() {
        return Err(ApiError::validation("[body] Invalid input"));
    }
    let Some(permissions) = permissions else {
        return Err(ApiError::message_only(
            StatusCode::BAD_REQUEST,
            "invalid permission check. no permission(s) were passed.",
        ));
    };
    let requested = parse(&permissions)?;
    // With a session, the session's user is asked about (never a user named in the body).
    let Lookup::Found(current) = current_session::lookup(&state, &headers).await? else {
        return Err(ApiError::empty(StatusCode::UNAUTHORIZED));
    };
    let success = crate::permissions::allows(&current.user, &requested);
    Ok(respond::ok_json(json!({"error": null, "success": success})))
}

/// `{resource: [action, …], …}`.
fn parse(permissions: &Value) -> ApiResult<Vec<(String, Vec<String>)>> {
    let invalid = || {
        ApiError::validation("[body.permissions] Invalid input: expected record of string arrays")
    };
    let map = permissions.as_object().ok_or_else(invalid)?;
    map.iter()
        .map(|(resource, actions)| {
            let actions = actions
                .as_array()
                .ok_or_else(invalid)?
                .iter()
                .map(|a| a.as_str().map(str::to_owned).ok_or_else(invalid))
                .collect::<ApiResult<Vec<_>>>()?;
            Ok((resource.clone(), actions))
        })
        .collect()
}
