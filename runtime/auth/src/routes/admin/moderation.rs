//! `set-role`, `ban-user`, `unban-user`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

use super::{field_and_actor, require_actor, roles_field};
use crate::admin_actions;
use crate::body::JsonBody;
use crate::client_ip::ClientIp;
use crate::error::ApiResult;
use crate::respond;
use crate::state::AppState;

pub async fn set_role(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let user_id = body.string("userId");
    let roles = roles_field(&mut body, "role");
    if !body.has("role") {
        body.string("role");
    }
    body.check()?;
    let actor = require_actor(&state, &headers, ip).await?;
    let roles = roles?.unwrap_or_default();
    let user = admin_actions::set_role(&state, &actor, &user_id, &roles).await?;
    Ok(respond::ok_json(json!({"user": state.user_json(&user)})))
}

/// Bans end at most this far away (about 100 years); any number JSON can carry is clamped into
/// range, so the date arithmetic cannot overflow.
const MAX_BAN_SECS: f64 = 100.0 * 365.25 * 86_400.0;

/// The end of a ban `seconds` from now (negative: already over, as BetterAuth computes it).
pub fn ban_expiry(seconds: f64) -> chrono::DateTime<chrono::Utc> {
    let millis = (seconds.clamp(-MAX_BAN_SECS, MAX_BAN_SECS) * 1000.0) as i64;
    crate::db::now_ms() + chrono::Duration::milliseconds(millis)
}

pub async fn ban_user(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let user_id = body.string("userId");
    let reason = body.opt_string("banReason");
    // BetterAuth treats 0 like no expiry.
    let expires_in = body.opt_number("banExpiresIn").filter(|s| *s != 0.0);
    body.check()?;
    let actor = require_actor(&state, &headers, ip).await?;
    let expires = expires_in.map(ban_expiry);
    let user = admin_actions::ban(&state, &actor, &user_id, reason.as_deref(), expires).await?;
    Ok(respond::ok_json(json!({"user": state.user_json(&user)})))
}

pub async fn unban_user(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let (user_id, actor) = field_and_actor(&state, &headers, ip, &mut body, "userId").await?;
    let user = admin_actions::unban(&state, &actor, &user_id).await?;
    Ok(respond::ok_json(json!({"user": state.user_json(&user)})))
}
