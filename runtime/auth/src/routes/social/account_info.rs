//! `GET /api/auth/account-info?accountId=<account row id>`: what the provider says about one of
//! the signed-in user's linked accounts now, as BetterAuth 1.7 answers it: `{user, data,
//! account: {id, providerId, accountId}}` (see `crate::oauth::userinfo`). An access token within
//! five seconds of expiry is refreshed first, and the new tokens are stored sealed.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Map, Value};

use crate::current_session;
use crate::db::oauth_accounts::{self, StoredAccount};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::oauth::{exchange, identity, userinfo, Provider};
use crate::respond;
use crate::state::AppState;

/// BetterAuth refreshes a token that expires in less than this.
const REFRESH_MARGIN_MS: i64 = 5_000;

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let id = account_id(query.as_deref().unwrap_or(""))?;
    // BetterAuth answers this route's missing session with an empty body.
    let current = match current_session::require(&state, &headers).await {
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            return Err(ApiError::empty(StatusCode::UNAUTHORIZED))
        }
        other => other?,
    };
    let client = state.db().await?;
    let account = oauth_accounts::of_user(&client, &current.user.id, &id)
        .await?
        .ok_or_else(account_not_found)?;
    let provider = state.oauth.get(&account.provider_id).ok_or_else(|| {
        ApiError::bad_request(
            error_codes::PROVIDER_NOT_CONFIGURED,
            "Account is not associated with a configured social provider.",
        )
    })?;
    let tokens = valid_tokens(&state, &provider, &account).await?;
    let Some(access_token) = tokens.access_token.filter(|t| !t.is_empty()) else {
        return Err(ApiError::bad_request(
            error_codes::ACCESS_TOKEN_NOT_FOUND,
            "Access token not found",
        ));
    };
    let info = userinfo::fetch(
        &provider,
        &account.account_id,
        &access_token,
        tokens.id_token.as_deref(),
    )
    .await
    .map_err(|e| {
        tracing::warn!(provider = %provider.config.id, error = ?format!("{e:#}"), "account-info: the provider did not describe the account");
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            error_codes::FAILED_TO_GET_USER_INFO,
            "Failed to get user info",
        )
    })?;
    let mut described = Map::new();
    described.insert("id".into(), account.id.into());
    described.insert("providerId".into(), account.provider_id.into());
    described.insert("accountId".into(), account.account_id.into());
    let mut out = Map::new();
    out.insert("user".into(), Value::Object(info.user));
    out.insert("data".into(), Value::Object(info.data));
    out.insert("account".into(), Value::Object(described));
    Ok(respond::ok_json(Value::Object(out)))
}

/// The `accountId` of BetterAuth's query schema, a union of two strict objects: `{accountId,
/// userId?}` and `{useAccountCookie: true, userId?}`. A query string only carries strings, so
/// the second never matches over HTTP (`useAccountCookie=true` is the string `"true"`): without
/// one `accountId` the answer is `[query] Invalid input`, and with it any other key than
/// `userId` is unrecognized. `userId` only matters to server-side calls without a session, which
/// this HTTP service does not take: the session's user always wins.
fn account_id(query: &str) -> ApiResult<String> {
    let mut ids = Vec::new();
    let mut unrecognized: Vec<String> = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "accountId" => ids.push(value.into_owned()),
            "userId" => {}
            other if !unrecognized.iter().any(|k| k == other) => {
                unrecognized.push(other.to_owned());
            }
            _ => {}
        }
    }
    let quoted: Vec<String> = unrecognized.iter().map(|k| format!("{k:?}")).collect();
    match (ids.as_slice(), quoted.as_slice()) {
        ([id], []) => Ok(id.clone()),
        ([_], [one]) => Err(ApiError::validation(format!(
            "[query] Unrecognized key: {one}"
        ))),
        ([_], many) => Err(ApiError::validation(format!(
            "[query] Unrecognized keys: {}",
            many.join(", ")
        ))),
        _ => Err(ApiError::validation("[query] Invalid input")),
    }
}

fn account_not_found() -> ApiError {
    ApiError::bad_request(error_codes::ACCOUNT_NOT_FOUND, "Account not found")
}

/// The opened tokens, refreshed (and stored again, sealed) when the access token is about to
/// expire and a refresh token is held; any failure here is BetterAuth's
/// `FAILED_TO_GET_ACCESS_TOKEN`.
async fn valid_tokens(
    state: &AppState,
    provider: &Provider,
    account: &StoredAccount,
) -> ApiResult<exchange::Tokens> {
    let failed = || {
        ApiError::bad_request(
            error_codes::FAILED_TO_GET_ACCESS_TOKEN,
            "Failed to get a valid access token",
        )
    };
    let open = |sealed: &Option<String>| -> ApiResult<Option<String>> {
        match sealed {
            None => Ok(None),
            Some(s) => Ok(Some(
                state.secrets().decrypt(s).ok_or_else(failed)?.plaintext,
            )),
        }
    };
    let expiring = account
        .access_token_expires_at
        .is_some_and(|at| (at - Utc::now()).num_milliseconds() < REFRESH_MARGIN_MS);
    let stored_id_token = open(&account.id_token)?;
    if let (true, Some(refresh_token)) = (expiring, open(&account.refresh_token)?) {
        let fresh = exchange::refresh(provider, &refresh_token, &account.account_id)
            .await
            .map_err(|e| {
                tracing::warn!(provider = %provider.config.id, error = ?format!("{e:#}"), "account-info: refreshing the access token failed");
                failed()
            })?;
        let client = state.db().await?;
        oauth_accounts::update_tokens(&client, &account.id, &identity::seal(state, &fresh)).await?;
        return Ok(exchange::Tokens {
            id_token: fresh.id_token.clone().or(stored_id_token),
            ..fresh
        });
    }
    Ok(exchange::Tokens {
        access_token: open(&account.access_token)?,
        refresh_token: None,
        id_token: stored_id_token,
        access_token_expires_at: account.access_token_expires_at,
        refresh_token_expires_at: None,
        scope: None,
    })
}
