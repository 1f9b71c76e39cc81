//! A user's sessions: `list-user-sessions`, `revoke-user-session`, `revoke-user-sessions`;
//! impersonation: `impersonate-user`, `stop-impersonating`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::{field_and_actor, require_actor, success};
use crate::admin_actions;
use crate::body::JsonBody;
use crate::client_ip::{user_agent, ClientIp};
use crate::cookie;
use crate::current_session::{self, Lookup};
use crate::db::{sessions, users};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::respond;
use crate::state::AppState;

pub async fn list_user_sessions(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let user_id = body.string("userId");
    body.check()?;
    require_actor(&state, &headers, ip).await?.authorize(
        "session",
        "list",
        (
            error_codes::YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS,
            "You are not allowed to list users sessions",
        ),
    )?;
    let client = state.db().await?;
    let list = sessions::list_live(&client, &user_id).await?;
    let shown = list.iter().map(|session| {
        let mut shown = crate::json::session(session);
        shown["token"] = admin_actions::revocation_handle(session).into();
        shown
    });
    Ok(respond::ok_json(json!({
        "sessions": Value::Array(shown.collect())
    })))
}

pub async fn revoke_user_session(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let (token, actor) = field_and_actor(&state, &headers, ip, &mut body, "sessionToken").await?;
    admin_actions::revoke_session(&state, &actor, &token).await?;
    Ok(success())
}

pub async fn revoke_user_sessions(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let (user_id, actor) = field_and_actor(&state, &headers, ip, &mut body, "userId").await?;
    admin_actions::revoke_sessions(&state, &actor, &user_id).await?;
    Ok(success())
}

/// Switches the browser to a new session as the user. The admin's own session token (and whether
/// it was remembered) is kept in the signed `admin_session` cookie for `stop-impersonating`.
pub async fn impersonate_user(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let user_id = body.string("userId");
    body.check()?;
    let Lookup::Found(current) = current_session::lookup(&state, &headers).await? else {
        return Err(ApiError::empty(StatusCode::UNAUTHORIZED));
    };
    let admin_token = current.session.token.clone();
    let remembered = !current.dont_remember;
    let dont_remember = if remembered { "" } else { "true" };
    let actor = super::actor_of(&state, *current, ip).await?;
    let (session, user) = admin_actions::impersonate(
        &state,
        &actor,
        &admin_token,
        &user_id,
        &user_agent(&headers),
    )
    .await?;
    let names = &state.cookies;
    let mut cookies = names.expire_session();
    // The admin's own token lasts in the browser as their session cookie does: a browser-session
    // one for an admin not remembered (BetterAuth keeps it a week whatever the choice, on the
    // disk of the shared computer the choice was made for).
    cookies.push(names.set_cookie(
        &names.admin_session,
        &cookie::sign_for_cookie(state.secret(), &format!("{admin_token}:{dont_remember}")),
        remembered.then(|| state.config.session.expires_in.as_secs() as i64),
    ));
    cookies.extend(current_session::session_cookies(
        &state,
        &session.token,
        false,
    ));
    Ok(respond::json_with_cookies(
        StatusCode::OK,
        json!({"session": crate::json::session(&session), "user": state.user_json(&user)}),
        cookies,
    ))
}

fn server_error(message: &str) -> ApiError {
    ApiError::message_only(StatusCode::INTERNAL_SERVER_ERROR, message)
}

/// Ends the impersonation session and gives the browser the admin's own session back.
pub async fn stop_impersonating(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Lookup::Found(current) = current_session::lookup(&state, &headers).await? else {
        return Err(ApiError::empty(StatusCode::UNAUTHORIZED));
    };
    let Some(admin_id) = current.session.impersonated_by.clone() else {
        return Err(ApiError::message_only(
            StatusCode::BAD_REQUEST,
            "You are not impersonating anyone",
        ));
    };
    let mut client = state.db().await?;
    let admin = users::by_id(&client, &admin_id)
        .await?
        .ok_or_else(|| server_error("Failed to find user"))?;
    let kept = cookie::find(&headers, &state.cookies.admin_session)
        .and_then(|wire| state.secrets().verify_cookie(wire))
        .ok_or_else(|| server_error("Failed to find admin session"))?;
    let (admin_token, dont_remember) = kept.split_once(':').unwrap_or((&kept, ""));
    let admin_session = sessions::by_token(&client, admin_token)
        .await?
        .filter(|s| s.user_id == admin.id && s.expires_at > chrono::Utc::now())
        .ok_or_else(|| server_error("Failed to find admin session"))?;
    let tx = client.transaction().await?;
    sessions::delete_by_token(&tx, &current.session.token).await?;
    crate::db::audit::insert(
        &tx,
        &crate::db::audit::Entry {
            actor_id: &admin.id,
            actor_email: &admin.email,
            action: "stop-impersonating",
            target_id: Some(&current.user.id),
            target_email: Some(&current.user.email),
            detail: &format!("session={}", current.session.id),
            ip: &ip,
        },
    )
    .await?;
    tx.commit().await?;
    state.session_cache.invalidate_all();
    let remember = dont_remember.is_empty();
    let mut cookies = current_session::session_cookies(&state, &admin_session.token, remember);
    if remember {
        // The impersonation set the marker; the admin's own session did not have it.
        cookies.push(state.cookies.expire(&state.cookies.dont_remember));
    }
    cookies.push(state.cookies.expire(&state.cookies.admin_session));
    Ok(respond::json_with_cookies(
        StatusCode::OK,
        json!({"session": crate::json::session(&admin_session), "user": state.user_json(&admin)}),
        cookies,
    ))
}
