//! Admin endpoints (BetterAuth `admin` plugin subset): `list-users`, `get-user`, `set-role`,
//! `ban-user`, `unban-user`. Roles are `user`, `admin` and the stack's declared ones (see
//! [`crate::roles`]), stored comma-joined in `user.role`.
//! No session → `401` with an empty body; a non-admin → `403` with the plugin's codes.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::body::JsonBody;
use crate::current_session::{self, CurrentSession, Lookup};
use crate::db::{sessions, users};
use crate::error::{ApiError, ApiResult};
use crate::respond;
use crate::state::AppState;

/// The caller must be a signed-in admin; `denied` is the plugin's code for this action.
async fn require_admin(
    state: &AppState,
    headers: &HeaderMap,
    denied: (&str, &str),
) -> ApiResult<CurrentSession> {
    match current_session::lookup(state, headers).await? {
        Lookup::Found(current) if current.user.is_admin() => Ok(*current),
        Lookup::Found(_) => Err(ApiError::forbidden(denied.0, denied.1)),
        _ => Err(ApiError::empty(StatusCode::UNAUTHORIZED)),
    }
}

/// Ban and unban share the plugin's denial code.
const BAN_DENIED: (&str, &str) = (
    "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS",
    "You are not allowed to ban users",
);

fn user_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "USER_NOT_FOUND", "User not found")
}

async fn user_response(state: &AppState, id: &str) -> ApiResult<Response> {
    let client = state.db().await?;
    let user = users::by_id(&client, id)
        .await?
        .ok_or_else(user_not_found)?;
    Ok(respond::ok_json(json!({"user": state.user_json(&user)})))
}

pub async fn list_users(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    require_admin(
        &state,
        &headers,
        (
            "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS",
            "You are not allowed to list users",
        ),
    )
    .await?;
    let search_field = match q.get("searchField").map(String::as_str) {
        Some("name") => "name",
        _ => "email",
    };
    let search_pattern = q.get("searchValue").filter(|v| !v.is_empty()).map(|v| {
        let escaped = v
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        match q.get("searchOperator").map(String::as_str) {
            Some("starts_with") => format!("{escaped}%"),
            Some("ends_with") => format!("%{escaped}"),
            _ => format!("%{escaped}%"),
        }
    });
    let parse = |k: &str| {
        q.get(k)
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|n| *n >= 0)
    };
    let limit = parse("limit");
    let offset = parse("offset");
    let sort_by = match q.get("sortBy").map(String::as_str) {
        Some("name") => "name",
        Some("email") => "email",
        Some("updatedAt") => "updatedAt",
        _ => "createdAt",
    };
    let descending = q.get("sortDirection").map(String::as_str) == Some("desc");
    let client = state.db().await?;
    let (list, total) = users::list(
        &client,
        &users::ListQuery {
            search_field,
            search_pattern,
            limit: limit.unwrap_or(100).min(1000),
            offset: offset.unwrap_or(0),
            sort_by,
            descending,
        },
    )
    .await?;
    let mut out = serde_json::Map::new();
    out.insert(
        "users".into(),
        Value::Array(list.iter().map(|u| state.user_json(u)).collect()),
    );
    out.insert("total".into(), total.into());
    if let Some(l) = limit {
        out.insert("limit".into(), l.into());
    }
    if let Some(o) = offset {
        out.insert("offset".into(), o.into());
    }
    Ok(respond::ok_json(Value::Object(out)))
}

pub async fn get_user(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    require_admin(
        &state,
        &headers,
        (
            "YOU_ARE_NOT_ALLOWED_TO_GET_USER",
            "You are not allowed to get user",
        ),
    )
    .await?;
    let id = q.get("id").ok_or_else(|| {
        ApiError::validation("[query.id] Invalid input: expected string, received undefined")
    })?;
    let client = state.db().await?;
    let user = users::by_id(&client, id)
        .await?
        .ok_or_else(user_not_found)?;
    Ok(respond::ok_json(state.user_json(&user)))
}

pub async fn set_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let user_id = body.string("userId");
    let roles: Vec<String> = match body.map().get("role") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => {
            body.string("role");
            vec![]
        }
    };
    body.check()?;
    require_admin(
        &state,
        &headers,
        (
            "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE",
            "You are not allowed to change users role",
        ),
    )
    .await?;
    if roles.is_empty() || roles.iter().any(|r| !state.config.roles.accepts(r)) {
        return Err(ApiError::bad_request(
            "YOU_ARE_NOT_ALLOWED_TO_SET_A_NON_EXISTENT_ROLE_VALUE",
            "You are not allowed to set a non-existent role value",
        ));
    }
    let client = state.db().await?;
    if users::set_role(&client, &user_id, &roles.join(",")).await? == 0 {
        return Err(user_not_found());
    }
    user_response(&state, &user_id).await
}

pub async fn ban_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let user_id = body.string("userId");
    let reason = body.opt_string("banReason");
    let expires_in = body.opt_number("banExpiresIn");
    body.check()?;
    let admin = require_admin(&state, &headers, BAN_DENIED).await?;
    if admin.user.id == user_id {
        return Err(ApiError::bad_request(
            "YOU_CANNOT_BAN_YOURSELF",
            "You cannot ban yourself",
        ));
    }
    let expires = expires_in.map(ban_expiry);
    let mut client = state.db().await?;
    let tx = client.transaction().await?;
    if users::set_ban(
        &tx,
        &user_id,
        true,
        Some(reason.as_deref().unwrap_or("No reason")),
        expires,
    )
    .await?
        == 0
    {
        return Err(user_not_found());
    }
    // A ban ends every session at once (get-session reads the database, so nothing lingers).
    sessions::delete_all_for_user(&tx, &user_id).await?;
    tx.commit().await?;
    user_response(&state, &user_id).await
}

/// Bans end at most this far away (about 100 years); any number JSON can carry is clamped into
/// range, so the date arithmetic cannot overflow.
const MAX_BAN_SECS: f64 = 100.0 * 365.25 * 86_400.0;

/// The end of a ban `seconds` from now (negative: already over, as BetterAuth computes it).
fn ban_expiry(seconds: f64) -> chrono::DateTime<chrono::Utc> {
    let millis = (seconds.clamp(-MAX_BAN_SECS, MAX_BAN_SECS) * 1000.0) as i64;
    crate::db::now_ms() + chrono::Duration::milliseconds(millis)
}

pub async fn unban_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let user_id = body.string("userId");
    body.check()?;
    require_admin(&state, &headers, BAN_DENIED).await?;
    let client = state.db().await?;
    if users::set_ban(&client, &user_id, false, None, None).await? == 0 {
        return Err(user_not_found());
    }
    user_response(&state, &user_id).await
}
