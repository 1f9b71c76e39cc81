//! `verify-totp` and `verify-backup-code`, in both contexts: with a session (first verification
//! turns 2FA on) and with the `two_factor` cookie of a pending sign-in.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde_json::json;

use super::challenge::{self, Pending};
use crate::body::Body;
use crate::client_ip::{user_agent, ClientIp};
use crate::current_session::{self, Lookup};
use crate::db::{two_factor, users};
use crate::error::{ApiError, ApiResult};
use crate::respond;
use crate::state::AppState;

/// Failures before the account's 2FA is locked for `LOCK_SECS`.
const LOCK_AFTER: i32 = 10;
const LOCK_SECS: i64 = 900;

fn invalid_code() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "INVALID_CODE", "Invalid code")
}

enum Method {
    Totp,
    Backup,
}

/// Checks `code` by `method`; a matching backup code is removed from `enrolment` (in memory only,
/// see `save_consumed_backup_code`).
fn code_matches(method: &Method, enrolment: &mut super::Enrolment, code: &str) -> bool {
    match method {
        Method::Totp => crate::totp::verify(&enrolment.key, code, crate::totp::now_secs()),
        Method::Backup => super::backup_codes::consume(&mut enrolment.backup_codes, code),
    }
}

/// The error for a code that did not match.
fn rejection(method: &Method) -> ApiError {
    match method {
        Method::Totp => invalid_code(),
        Method::Backup => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_BACKUP_CODE",
            "Invalid backup code",
        ),
    }
}

/// After a backup code matched, stores the remaining codes so that one cannot be used again.
async fn save_consumed_backup_code(
    state: &AppState,
    client: &crate::db::Client,
    method: &Method,
    enrolment: &super::Enrolment,
) -> ApiResult<()> {
    if let Method::Backup = method {
        two_factor::set_backup_codes(
            client,
            &enrolment.row.id,
            &super::backup_codes::seal(state, &enrolment.backup_codes),
        )
        .await?;
    }
    Ok(())
}

async fn verify(
    state: AppState,
    ip: String,
    headers: HeaderMap,
    bytes: Bytes,
    method: Method,
) -> ApiResult<Response> {
    let mut body = Body::parse(&headers, &bytes, false)?;
    let code = body.string("code");
    let trust_device = body.opt_bool("trustDevice").unwrap_or(false);
    body.check()?;
    let client = state.db().await?;

    // Context 1: a signed-in user confirming their authenticator (turns 2FA on).
    if let Lookup::Found(current) = current_session::lookup(&state, &headers).await? {
        let mut enrolment = super::load_enrolment(&state, &client, &current.user.id).await?;
        if !code_matches(&method, &mut enrolment, &code) {
            return Err(rejection(&method));
        }
        save_consumed_backup_code(&state, &client, &method, &enrolment).await?;
        if enrolment.row.verified && current.user.two_factor_enabled {
            return Ok(respond::ok_json(
                json!({"token": current.session.token, "user": state.user_json(&current.user)}),
            ));
        }
        two_factor::mark_verified(&client, &enrolment.row.id).await?;
        users::set_two_factor_enabled(&client, &current.user.id, true).await?;
        // Privilege change: rotate the session.
        let issued = current_session::rotate(&state, &client, &current, &ip, &headers).await?;
        let user = users::by_id(&client, &current.user.id)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        return Ok(respond::json_with_cookies(
            StatusCode::OK,
            json!({"token": issued.session.token, "user": state.user_json(&user)}),
            issued.cookies,
        ));
    }

    // Context 2: completing a sign-in challenge.
    let pending: Pending = challenge::pending(&state, &client, &headers).await?;
    let mut enrolment = super::load_enrolment(&state, &client, &pending.user_id).await?;
    if enrolment.row.locked_until.is_some_and(|t| t > Utc::now()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "ACCOUNT_TEMPORARILY_LOCKED",
            "Account temporarily locked due to too many failed attempts",
        ));
    }
    if !code_matches(&method, &mut enrolment, &code) {
        let lock = (enrolment.row.failed_count + 1 >= LOCK_AFTER)
            .then(|| crate::db::now_ms() + chrono::Duration::seconds(LOCK_SECS));
        two_factor::record_failure(&client, &enrolment.row.id, lock).await?;
        challenge::count_failure(&client, &pending).await?;
        return Err(rejection(&method));
    }
    save_consumed_backup_code(&state, &client, &method, &enrolment).await?;
    two_factor::reset_failures(&client, &enrolment.row.id).await?;
    challenge::finish(&client, &pending).await?;
    let user = users::by_id(&client, &pending.user_id)
        .await?
        .ok_or_else(challenge::invalid_cookie)?;
    if user.is_banned(Utc::now()) {
        return Err(crate::routes::sign_in::banned_error());
    }
    let issued =
        current_session::issue(&state, &client, &user.id, true, &ip, &user_agent(&headers)).await?;
    let mut cookies = issued.cookies;
    cookies.push(state.cookies.expire(&state.cookies.two_factor));
    if trust_device {
        cookies.push(challenge::trust_device_cookie(&state, &client, &user.id).await?);
    }
    // The challenge remembers the device (rememberMe defaults to true): clear any stale marker.
    cookies.push(state.cookies.expire(&state.cookies.dont_remember));
    Ok(respond::json_with_cookies(
        StatusCode::OK,
        json!({"token": issued.session.token, "user": state.user_json(&user)}),
        cookies,
    ))
}

pub async fn verify_totp(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    verify(state, ip, headers, bytes, Method::Totp).await
}

pub async fn verify_backup_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    verify(state, ip, headers, bytes, Method::Backup).await
}
