//! `POST /api/auth/change-password {newPassword, currentPassword, revokeOtherSessions?}`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::body::JsonBody;
use crate::client_ip::ClientIp;
use crate::current_session;
use crate::db::session_sign_in::Proved;
use crate::db::{accounts, sessions};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::password;
use crate::respond;
use crate::state::AppState;

pub async fn post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let new_password = body.string("newPassword");
    let current_password = body.string("currentPassword");
    let revoke_others = body.opt_bool("revokeOtherSessions").unwrap_or(false);
    body.check()?;
    let current = current_session::require(&state, &headers).await?;
    password::check_length(&new_password)?;
    let mut client = state.db().await?;
    match accounts::credential_password(&client, &current.user.id).await? {
        Some(Some(_)) => {}
        _ => {
            return Err(ApiError::bad_request(
                error_codes::CREDENTIAL_ACCOUNT_NOT_FOUND,
                "Credential account not found",
            ))
        }
    }
    let invalid_password =
        || ApiError::bad_request(error_codes::INVALID_PASSWORD, "Invalid password");
    let Some(matched) = crate::routes::sign_in::check_password(
        &state,
        &headers,
        &client,
        &current.user,
        current_password,
    )
    .await?
    else {
        return Err(invalid_password());
    };
    let hash = tokio::task::spawn_blocking(move || password::hash(&new_password))
        .await
        .map_err(ApiError::internal)??;
    // Only over the hash the current password matched: a reset (or another change) that wrote
    // its password while this one was hashed is the newer choice, and this change is refused.
    if !accounts::replace_credential_password(&client, &current.user.id, &matched, &hash).await? {
        return Err(invalid_password());
    }
    crate::db::credential_epoch::password_not_by_mail(&client, &current.user.id).await?;
    crate::routes::password_reset::forget_what_the_old_password_started(&client, &current.user.id)
        .await?;
    // This browser chose the new password: it stays a known device of the account.
    let known_device =
        crate::known_device::cookie_for_this_browser(&state, &headers, &current.user.id, &hash);
    if revoke_others {
        // The current password, checked above, and what the session had; read before the
        // delete below ends it with its record.
        let proved = current_session::proved(&client, &current)
            .await?
            .max(Proved::Password);
        sessions::delete_all_for_user(&client, &current.user.id).await?;
        // Not for a user banned (or whose password was reset) since the session was checked.
        let Some(issued) = current_session::issue_if_still(
            &state,
            &mut client,
            &current.user.id,
            current_session::StillSo::PasswordHash(&hash),
            proved,
            !current.dont_remember,
            &ip,
            &crate::client_ip::user_agent(&headers),
        )
        .await?
        else {
            // The new password and the ended sessions stand, and the session cache flushes by
            // itself only after a success.
            state.session_cache.invalidate_all();
            return Err(ApiError::unauthorized());
        };
        return Ok(respond::json_with_cookies(
            StatusCode::OK,
            json!({"token": issued.session.token, "user": state.user_json(&current.user)}),
            issued.cookies.into_iter().chain(known_device).collect(),
        ));
    }
    Ok(respond::json_with_cookies(
        StatusCode::OK,
        json!({"token": null, "user": state.user_json(&current.user)}),
        known_device.into_iter().collect(),
    ))
}
