//! Users: `list-users`, `get-user`, `create-user`, `update-user`, `remove-user`,
//! `set-user-password`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::{field_and_actor, require_actor, roles_field, roles_of, success};
use crate::admin_actions;
use crate::body::JsonBody;
use crate::client_ip::ClientIp;
use crate::db::users;
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::respond;
use crate::state::AppState;

pub async fn list_users(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    require_actor(&state, &headers, ip).await?.authorize(
        "user",
        "list",
        (
            error_codes::YOU_ARE_NOT_ALLOWED_TO_LIST_USERS,
            "You are not allowed to list users",
        ),
    )?;
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
            role: None,
            banned: None,
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
    ClientIp(ip): ClientIp,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    require_actor(&state, &headers, ip).await?.authorize(
        "user",
        "get",
        (
            error_codes::YOU_ARE_NOT_ALLOWED_TO_GET_USER,
            "You are not allowed to get user",
        ),
    )?;
    let id = q.get("id").ok_or_else(|| {
        ApiError::validation("[query.id] Invalid input: expected string, received undefined")
    })?;
    let client = state.db().await?;
    let user = users::by_id(&client, id)
        .await?
        .ok_or_else(admin_actions::user_not_found)?;
    Ok(respond::ok_json(state.user_json(&user)))
}

pub async fn create_user(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let email = body.string("email");
    let name = body.string("name");
    let password = body.opt_string("password");
    let data = match body.map().get("data") {
        None | Some(Value::Null) => Map::new(),
        Some(_) => body.object("data"),
    };
    let mut roles = roles_field(&mut body, "role");
    body.check()?;
    let actor = require_actor(&state, &headers, ip).await?;
    if matches!(roles, Ok(None)) {
        roles = data.get("role").map(roles_of).transpose();
    }
    let new = admin_actions::NewUser {
        email,
        name,
        password,
        roles: roles?,
        email_verified: data.get("emailVerified") == Some(&Value::Bool(true)),
    };
    let user = admin_actions::create_user(&state, &actor, new).await?;
    Ok(respond::ok_json(json!({"user": state.user_json(&user)})))
}

fn bad(code: &str, message: &str) -> ApiError {
    ApiError::bad_request(code, message)
}

/// `update-user`'s `data`, as changes plus the requested roles; fields users do not have, and
/// the password and id, are refused.
fn changes_from(data: &Map<String, Value>) -> ApiResult<(users::Changes, Option<Vec<String>>)> {
    if data.is_empty() {
        return Err(bad(error_codes::NO_DATA_TO_UPDATE, "No data to update"));
    }
    if data.contains_key("password") {
        return Err(bad(
            error_codes::PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER,
            "Password cannot be updated through update-user. Use the set-user-password endpoint instead",
        ));
    }
    if data.contains_key("id") {
        return Err(bad(
            error_codes::USER_ID_CANNOT_BE_UPDATED,
            "User id cannot be updated",
        ));
    }
    let invalid = |key: &str| ApiError::validation(format!("[body.data.{key}] Invalid input"));
    // `data` is one field to the body's own check: its members' caps are checked here.
    let text = |key: &str, v: &Value| match v.as_str() {
        Some(s) if crate::body::fits(key, s) => Ok(s.to_owned()),
        Some(_) => Err(ApiError::validation(crate::body::too_big(
            &format!("body.data.{key}"),
            key,
        ))),
        None => Err(invalid(key)),
    };
    let opt_text = |key: &str, v: &Value| match v {
        Value::Null => Ok(None),
        other => text(key, other).map(Some),
    };
    let flag = |key: &str, v: &Value| v.as_bool().ok_or_else(|| invalid(key));
    let mut c = users::Changes::default();
    let mut roles = None;
    for (key, v) in data {
        match key.as_str() {
            "name" => c.name = Some(text(key, v)?),
            "email" => c.email = Some(text(key, v)?),
            "emailVerified" => c.email_verified = Some(flag(key, v)?),
            "image" => c.image = Some(opt_text(key, v)?),
            "role" => roles = Some(roles_of(v)?),
            "banned" => c.banned = Some(flag(key, v)?),
            "banReason" => c.ban_reason = Some(opt_text(key, v)?),
            "banExpires" => {
                c.ban_expires = Some(match opt_text(key, v)? {
                    None => None,
                    Some(s) => Some(s.parse().map_err(|_| invalid(key))?),
                });
            }
            other => {
                return Err(bad(
                    error_codes::FIELD_NOT_ALLOWED,
                    &format!("{other} is not allowed to be set"),
                ))
            }
        }
    }
    Ok((c, roles))
}

pub async fn update_user(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let user_id = body.string("userId");
    let data = body.object("data");
    body.check()?;
    let actor = require_actor(&state, &headers, ip).await?;
    actor.authorize("user", "update", admin_actions::UPDATE_DENIED)?;
    let (changes, roles) = changes_from(&data)?;
    let detail = Value::Object(data).to_string();
    let user =
        admin_actions::update_user(&state, &actor, &user_id, changes, roles, &detail).await?;
    Ok(respond::ok_json(state.user_json(&user)))
}

pub async fn remove_user(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let (user_id, actor) = field_and_actor(&state, &headers, ip, &mut body, "userId").await?;
    admin_actions::remove_user(&state, &actor, &user_id).await?;
    Ok(success())
}

pub async fn set_user_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let new_password = body.non_empty("newPassword");
    let user_id = body.non_empty("userId");
    body.check()?;
    let actor = require_actor(&state, &headers, ip).await?;
    admin_actions::set_password(&state, &actor, &user_id, new_password).await?;
    Ok(respond::ok_json(json!({"status": true})))
}
