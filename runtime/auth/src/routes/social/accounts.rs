//! `GET /api/auth/list-accounts` and `POST /api/auth/unlink-account`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::body::Body;
use crate::current_session;
use crate::db::oauth_accounts::{self, Unlinked};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::json::date;
use crate::respond;
use crate::state::AppState;

/// Every sign-in method of the signed-in user, without tokens or password; the stored
/// comma-joined scope becomes `scopes`.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let current = current_session::require(&state, &headers).await?;
    let client = state.db().await?;
    let rows = oauth_accounts::list(&client, &current.user.id).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|a| {
            let scopes: Vec<&str> = a
                .scope
                .as_deref()
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            let mut m = Map::new();
            m.insert("accountId".into(), a.account_id.clone().into());
            m.insert("providerId".into(), a.provider_id.clone().into());
            m.insert("userId".into(), a.user_id.clone().into());
            m.insert("createdAt".into(), date(&a.created_at));
            m.insert("updatedAt".into(), date(&a.updated_at));
            m.insert("id".into(), a.id.clone().into());
            m.insert("scopes".into(), json!(scopes));
            Value::Object(m)
        })
        .collect();
    Ok(respond::ok_json(Value::Array(items)))
}

/// Removes one account (by its row `id`, as BetterAuth 1.7 takes it), never the last one. Needs
/// a fresh session, like BetterAuth's `freshSessionMiddleware`.
pub async fn unlink(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let current = current_session::require_fresh(&state, &headers).await?;
    current.not_impersonated()?;
    // The session is checked before the body here, as BetterAuth does on this route.
    let mut body = Body::parse(&headers, &bytes, false)?;
    let account_id = body.string("accountId");
    body.check()?;
    let mut client = state.db().await?;
    match oauth_accounts::unlink(&mut client, &current.user.id, &account_id).await? {
        Unlinked::Done => Ok(respond::ok_json(json!({ "status": true }))),
        Unlinked::LastAccount => Err(ApiError::bad_request(
            error_codes::FAILED_TO_UNLINK_LAST_ACCOUNT,
            "You can't unlink your last account",
        )),
        Unlinked::NotFound => Err(ApiError::bad_request(
            error_codes::ACCOUNT_NOT_FOUND,
            "Account not found",
        )),
    }
}
