//! The state of one browser's trip to the provider and back (BetterAuth's database strategy):
//! a `verification` row `auth-state:<state>` holding the callback URLs, the PKCE verifier and
//! the OpenID nonce for ten minutes, and the same `state` in a signed cookie (`better-auth.state`,
//! five minutes) so that only the browser that started the sign-in can finish it. The row is
//! taken in one statement: a state, like the code it travels with, works once.

use axum::http::HeaderMap;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::cookie;
use crate::db::{verification, Client};
use crate::error::ApiResult;
use crate::state::AppState;

/// BetterAuth's row lifetime and cookie lifetime.
const ROW_LIFETIME_MS: i64 = 600_000;
const COOKIE_MAX_AGE_SECS: i64 = 300;

/// Who asked to link a provider identity to their account (`link-social`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub email: String,
    pub user_id: String,
    /// The session that asked, sealed with the auth secret: the link is refused when that
    /// session has ended by the time the provider sends the browser back.
    pub encrypted_session_token: Option<String>,
}

/// The stored JSON, with BetterAuth's field names (plus `providerId`, which binds the state to the
/// provider it was issued for).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowState {
    #[serde(rename = "callbackURL")]
    pub callback_url: String,
    pub code_verifier: String,
    #[serde(rename = "errorURL", skip_serializing_if = "Option::is_none")]
    pub error_url: Option<String>,
    #[serde(rename = "newUserURL", skip_serializing_if = "Option::is_none")]
    pub new_user_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_sign_up: Option<bool>,
    pub id_token_nonce: String,
    pub oauth_state: String,
    pub provider_id: String,
}

/// What the callback's state check can end in, with BetterAuth's `?error=` codes.
pub enum Refused {
    /// No `state` in the callback.
    NotFound,
    /// Unknown, used, expired, for another provider, or not this browser's: `state_mismatch`,
    /// sent to the flow's own error URL when the row was readable.
    Mismatch { error_url: Option<String> },
}

fn identifier(state: &str) -> String {
    format!("auth-state:{state}")
}

pub fn cookie_name(state: &AppState) -> &str {
    &state.cookies.state
}

/// The random values of a new flow: `(state, PKCE verifier, nonce)`, BetterAuth's lengths.
pub fn new_secrets() -> (String, String, String) {
    let r = crate::ids::random_string;
    (r(32), r(128), r(32))
}

pub fn expires_at_ms() -> i64 {
    Utc::now().timestamp_millis() + ROW_LIFETIME_MS
}

/// Stores the flow and returns the `Set-Cookie` binding it to this browser.
pub async fn save(state: &AppState, client: &Client, flow: &FlowState) -> ApiResult<String> {
    let value = serde_json::to_string(flow).map_err(crate::error::ApiError::internal)?;
    let expires = chrono::DateTime::from_timestamp_millis(flow.expires_at).unwrap_or_else(Utc::now);
    verification::insert(client, &identifier(&flow.oauth_state), &value, expires).await?;
    let signed = cookie::sign_for_cookie(state.secret(), &flow.oauth_state);
    Ok(state
        .cookies
        .set_cookie(cookie_name(state), &signed, Some(COOKIE_MAX_AGE_SECS)))
}

/// Checks the callback's `state` against the row and this browser's cookie, then takes the row.
pub async fn take(
    state: &AppState,
    client: &Client,
    headers: &HeaderMap,
    provider_id: &str,
    returned: Option<&str>,
) -> ApiResult<Result<FlowState, Refused>> {
    let Some(returned) = returned.filter(|s| !s.is_empty()) else {
        return Ok(Err(Refused::NotFound));
    };
    let id = identifier(returned);
    let Some(stored) = verification::peek(client, &id).await? else {
        return Ok(Err(Refused::Mismatch { error_url: None }));
    };
    let Ok(flow) = serde_json::from_str::<FlowState>(&stored) else {
        return Ok(Err(Refused::Mismatch { error_url: None }));
    };
    let mismatch = Refused::Mismatch {
        error_url: flow.error_url.clone(),
    };
    let from_cookie = cookie::find(headers, cookie_name(state))
        .and_then(|wire| state.secrets().verify_cookie(wire));
    if flow.oauth_state != returned
        || from_cookie.as_deref() != Some(returned)
        || flow.provider_id != provider_id
        || flow.expires_at < Utc::now().timestamp_millis()
    {
        return Ok(Err(mismatch));
    }
    // Only one of two concurrent callbacks with the same state gets the row.
    if verification::take(client, &id).await?.is_none() {
        return Ok(Err(mismatch));
    }
    Ok(Ok(flow))
}
