//! BetterAuth's `admin` plugin endpoints. Every change goes through [`crate::admin_actions`]
//! (permission, change and audit entry in one transaction). Roles are `user`, `admin` and the
//! stack's declared ones (see [`crate::roles`]), stored comma-joined in `user.role`.
//! No session → `401` with an empty body; a caller without the permission → `403` with the
//! plugin's code for the action.

mod moderation;
mod permission;
mod sessions;
mod users;

pub use moderation::ban_expiry;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use crate::admin_actions::Actor;
use crate::body::Body;
use crate::current_session::{self, CurrentSession, Lookup};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::state::AppState;

/// Routes relative to `/api/auth/admin`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/list-users", get(users::list_users))
        .route("/get-user", get(users::get_user))
        .route("/create-user", post(users::create_user))
        .route("/update-user", post(users::update_user))
        .route("/remove-user", post(users::remove_user))
        .route("/set-user-password", post(users::set_user_password))
        .route("/set-role", post(moderation::set_role))
        .route("/ban-user", post(moderation::ban_user))
        .route("/unban-user", post(moderation::unban_user))
        .route("/list-user-sessions", post(sessions::list_user_sessions))
        .route("/revoke-user-session", post(sessions::revoke_user_session))
        .route(
            "/revoke-user-sessions",
            post(sessions::revoke_user_sessions),
        )
        .route("/impersonate-user", post(sessions::impersonate_user))
        .route("/stop-impersonating", post(sessions::stop_impersonating))
        .route("/has-permission", post(permission::has_permission))
}

/// The signed-in caller as an [`Actor`]; `401` with an empty body without a live session.
async fn require_actor(state: &AppState, headers: &HeaderMap, ip: String) -> ApiResult<Actor> {
    let Lookup::Found(current) = current_session::lookup(state, headers).await? else {
        return Err(ApiError::empty(StatusCode::UNAUTHORIZED));
    };
    actor_of(state, *current, ip).await
}

/// The holder of `current` as an [`Actor`] of these routes, every one of which takes its caller
/// through here.
///
/// An admin acts here only from a session that [`CurrentSession::may_administer`], as on the
/// dashboard: these routes let their caller do all it does (make an admin without two-factor,
/// say). BetterAuth's admin plugin takes any session of an admin; this `403` is auth's own.
async fn actor_of(state: &AppState, current: CurrentSession, ip: String) -> ApiResult<Actor> {
    if current.is_admins_own() && !current.may_administer(&state.db().await?).await? {
        return Err(ApiError::forbidden(
            error_codes::SECOND_FACTOR_REQUIRED,
            "Sign in with your second factor to use the admin routes",
        ));
    }
    Actor::of(current, ip)
}

/// A body with one required string field (`userId`, `sessionToken`): its value, and the caller.
async fn field_and_actor(
    state: &AppState,
    headers: &HeaderMap,
    ip: String,
    body: &mut Body,
    key: &str,
) -> ApiResult<(String, Actor)> {
    let value = body.string(key);
    body.check()?;
    Ok((value, require_actor(state, headers, ip).await?))
}

/// The plugin's `{"success": true}`.
fn success() -> axum::response::Response {
    crate::respond::ok_json(serde_json::json!({"success": true}))
}

/// A role value: one role or a list of roles. Anything else, or a list entry that is not a
/// string, is the plugin's `INVALID_ROLE_TYPE`.
fn roles_of(v: &Value) -> ApiResult<Vec<String>> {
    let invalid = || ApiError::bad_request(error_codes::INVALID_ROLE_TYPE, "Invalid role type");
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(invalid))
            .collect(),
        _ => Err(invalid()),
    }
}

/// A role field of the body (`None` when absent); a value of the wrong type is a validation
/// error, as the plugin's schema makes it.
fn roles_field(body: &mut Body, key: &str) -> ApiResult<Option<Vec<String>>> {
    match body.map().get(key) {
        None => Ok(None),
        Some(v @ (Value::String(_) | Value::Array(_))) => roles_of(v).map(Some),
        Some(_) => {
            body.string(key);
            Ok(None)
        }
    }
}
