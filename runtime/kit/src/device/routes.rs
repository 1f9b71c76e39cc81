use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;

use super::store::DeviceStoreError;
use super::MAX_LIVE_PER_USER;
use crate::extract::Path;
use crate::guard::{Authenticated, Guard, GuardRejection, Principal};

const MAX_LABEL_CHARS: usize = 100;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    #[serde(default)]
    label: String,
}

/// `POST /device-sessions` (signed-in user, cookie only: a device cannot mint more devices) →
/// `201 {id, token, label, expiresAt}`; `GET /device-sessions` → the user's live device sessions;
/// `DELETE /device-sessions/{id}` (the user, or one of the user's devices) → 204 / 404.
pub fn device_session_routes<S>() -> Router<S>
where
    Guard: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/device-sessions", get(list).post(create))
        .route("/device-sessions/{id}", delete(revoke))
}

async fn create(
    State(guard): State<Guard>,
    headers: HeaderMap,
    user: Authenticated,
    body: Bytes,
) -> Response {
    let Some(devices) = guard.device_sessions() else {
        return GuardRejection::NotConfigured.into_response();
    };
    let parsed: CreateBody = if body.is_empty() {
        CreateBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => return bad_request(&format!("Invalid JSON body: {e}")),
        }
    };
    if parsed.label.chars().count() > MAX_LABEL_CHARS {
        return bad_request("label is too long (max 100 characters)");
    }
    // PostgreSQL's text holds no NUL: the insert would fail as the service's fault.
    if parsed.label.contains('\0') {
        return bad_request("label must not contain a NUL character");
    }
    // An impersonation ends within the hour, or when the admin stops it; a device session made
    // from it would act as the user for weeks after, past the admin's own ban or deletion.
    if user.session().impersonated_by.is_some() {
        return (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({
                "message": "an admin's impersonation cannot create device sessions",
                "code": "IMPERSONATION",
            })),
        )
            .into_response();
    }
    // Before auth is asked for the owner's epoch and the cookie again: both are only of use to
    // a device session that will be made.
    match devices.at_limit(&user.user().id).await {
        Ok(false) => {}
        Ok(true) => return too_many_device_sessions(),
        Err(e) => return store_failed(&e, "creating device session failed"),
    }
    let owner_epoch = match guard.epoch_for_new_device(&user, &headers).await {
        Ok(epoch) => epoch,
        Err(rejection) => return rejection.into_response(),
    };
    match devices
        .create(&user.user().id, parsed.label.trim(), owner_epoch)
        .await
    {
        Ok(Some(created)) => (StatusCode::CREATED, Json(created)).into_response(),
        Ok(None) => too_many_device_sessions(),
        Err(e) => store_failed(&e, "creating device session failed"),
    }
}

/// The `409` of a user who already holds [`MAX_LIVE_PER_USER`] live device sessions.
fn too_many_device_sessions() -> Response {
    (
        StatusCode::CONFLICT,
        Json(serde_json::json!({
            "message": format!(
                "at most {MAX_LIVE_PER_USER} device sessions per user: revoke one first"
            ),
            "code": "TOO_MANY_DEVICE_SESSIONS",
        })),
    )
        .into_response()
}

async fn list(State(guard): State<Guard>, user: Authenticated) -> Response {
    let Some(devices) = guard.device_sessions() else {
        return GuardRejection::NotConfigured.into_response();
    };
    match devices.list(&user.user().id).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => store_failed(&e, "listing device sessions failed"),
    }
}

async fn revoke(State(guard): State<Guard>, who: Principal, Path(id): Path<String>) -> Response {
    let Some(devices) = guard.device_sessions() else {
        return GuardRejection::NotConfigured.into_response();
    };
    match devices.revoke(who.user_id(), &id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"message": "Device session not found", "code": "NOT_FOUND"})),
        )
            .into_response(),
        Err(e) => store_failed(&e, "revoking device session failed"),
    }
}

/// The `503` of the service's database failing a device-session operation, logged as `what`.
fn store_failed(e: &DeviceStoreError, what: &str) -> Response {
    tracing::error!(error = %stackr_tls::refusal::log_line(e), "{what}");
    GuardRejection::ServiceUnavailable.into_response()
}

/// A `400` in the kit's `{message, code}` form.
pub(crate) fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({"message": message, "code": "BAD_REQUEST"})),
    )
        .into_response()
}
