//! Session management: `list-sessions`, `revoke-session`, `revoke-sessions`,
//! `revoke-other-sessions`. All re-read the session from the database.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::admin_actions;
use crate::body::JsonBody;
use crate::client_ip::ClientIp;
use crate::current_session;
use crate::db::{credential_epoch, sessions};
use crate::error::ApiResult;
use crate::respond;
use crate::state::AppState;

/// `GET /list-sessions`: needs a *fresh* session (created less than `freshAge` ago). Lists no
/// impersonation. The caller's own session is shown with its token, every other one by handle
/// (`revoke-session` takes either; BetterAuth shows every token): a token used as bearer is that
/// session, with what its sign-in proved. A session from a linked provider's sign-in would
/// otherwise take the token of one that proved the second factor (and with it the admin routes),
/// a stolen cookie would take tokens that outlive its own revocation, and an impersonation a
/// session of the user's own, with none of an impersonation's limits, unaudited.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let current = current_session::require_fresh(&state, &headers).await?;
    let client = state.db().await?;
    let list = sessions::list_active(&client, &current.user.id).await?;
    Ok(respond::ok_json(Value::Array(
        list.iter()
            .map(|session| {
                let mut shown = crate::json::session(session);
                if session.id != current.session.id {
                    shown["token"] = admin_actions::revocation_handle(session).into();
                }
                shown
            })
            .collect(),
    )))
}

/// `POST /revoke-session {token}`: only the caller's own sessions, named by token or by the
/// handle an impersonation is shown; unknown ones succeed silently. Ending another than the
/// caller's moves the credential epoch on.
pub async fn revoke_one(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let named = body.string("token");
    body.check()?;
    let current = current_session::require(&state, &headers).await?;
    let mut client = state.db().await?;
    let tx = client.transaction().await?;
    let found = admin_actions::named_session(&tx, &named).await?;
    let token = found
        .as_ref()
        .map_or(named, |session| session.token.clone());
    let n = sessions::delete_user_token(&tx, &current.user.id, &token).await?;
    // Another of the user's own sessions, ended: the credentials derived from sessions (device
    // sessions) end too, as with `revoke-other-sessions`. They are not tied to the session they
    // came from, so an owner revoking a stranger's session left the stranger's device session
    // good for its days. The caller's own is a sign-out, which leaves them.
    if n > 0 && token != current.session.token && found.is_some_and(|s| derives_credentials(&s)) {
        credential_epoch::bump(&tx, &current.user.id).await?;
    }
    let detail = format!("sessions={n}");
    admin_actions::record_if_impersonated(&tx, &current, &ip, "revoke-session", &detail).await?;
    tx.commit().await?;
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

/// Whether credentials may have been derived from `session`: a base service makes no device
/// session from an impersonation (`403 IMPERSONATION`), so ending one ends nothing more.
pub(crate) fn derives_credentials(session: &crate::db::models::Session) -> bool {
    session.impersonated_by.is_none()
}

/// `POST /revoke-sessions`: every session of the caller, cookies cleared.
pub async fn revoke_all(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let current = current_session::require(&state, &headers).await?;
    let mut client = state.db().await?;
    let tx = client.transaction().await?;
    let n = sessions::delete_all_for_user(&tx, &current.user.id).await?;
    let detail = format!("sessions={n}");
    admin_actions::record_if_impersonated(&tx, &current, &ip, "revoke-sessions", &detail).await?;
    tx.commit().await?;
    Ok(respond::json_with_cookies(
        StatusCode::OK,
        json!({"status": true}),
        state.cookies.expire_session(),
    ))
}

/// `POST /revoke-other-sessions`: all but the current one.
pub async fn revoke_others(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let current = current_session::require(&state, &headers).await?;
    let mut client = state.db().await?;
    let tx = client.transaction().await?;
    let n = sessions::delete_others(&tx, &current.user.id, &current.session.token).await?;
    let detail = format!("sessions={n}");
    admin_actions::record_if_impersonated(&tx, &current, &ip, "revoke-other-sessions", &detail)
        .await?;
    tx.commit().await?;
    Ok(respond::ok_json(json!({"status": true})))
}
