//! `verify-totp` and `verify-backup-code`, in both contexts: with a session (first verification
//! turns 2FA on) and with the `two_factor` cookie of a pending sign-in.
//!
//! Every single-use thing is spent atomically, so concurrent requests cannot use it twice: a
//! challenge attempt and an account attempt are claimed (check and count in one statement) before
//! the code is looked at, a TOTP step is accepted once per user (and never an earlier one), a
//! backup code is removed by compare-and-swap, and the challenge is taken by exactly one request.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde_json::json;

use super::challenge::{self, Pending};
use crate::body::{Body, JsonBody};
use crate::client_ip::{user_agent, ClientIp};
use crate::current_session::{self, Lookup};
use crate::db::session_sign_in::Proved;
use crate::db::{credential_epoch, two_factor, users};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::respond;
use crate::state::AppState;

/// Attempts (over all challenges) before the account's 2FA is locked for `LOCK_SECS`.
pub const LOCK_AFTER: i32 = 10;
pub(super) const LOCK_SECS: i64 = 900;

enum Method {
    Totp,
    Backup,
}

/// Checks `code` by `method` and spends it: the TOTP step is recorded as used, the backup code
/// removed. `false` when it does not match or was already spent.
async fn spend_code(
    state: &AppState,
    client: &crate::db::Client,
    method: &Method,
    enrolment: &super::Enrolment,
    code: &str,
) -> ApiResult<bool> {
    match method {
        Method::Totp => {
            match crate::totp::matching_step(&enrolment.key, code, crate::totp::now_secs()) {
                Some(step) => {
                    let step = i64::try_from(step).map_err(ApiError::internal)?;
                    Ok(two_factor::accept_totp_step(client, &enrolment.row.id, step).await?)
                }
                None => Ok(false),
            }
        }
        Method::Backup => super::backup_codes::spend(state, client, &enrolment.row.id, code).await,
    }
}

/// The error for a code that did not match.
fn rejection(method: &Method) -> ApiError {
    match method {
        Method::Totp => ApiError::new(
            StatusCode::UNAUTHORIZED,
            error_codes::INVALID_CODE,
            "Invalid code",
        ),
        Method::Backup => ApiError::new(
            StatusCode::UNAUTHORIZED,
            error_codes::INVALID_BACKUP_CODE,
            "Invalid backup code",
        ),
    }
}

pub(super) fn locked() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        error_codes::ACCOUNT_TEMPORARILY_LOCKED,
        "Too many failed verification attempts. Your account is temporarily locked. Please try again later.",
    )
}

async fn verify(
    state: AppState,
    ip: String,
    headers: HeaderMap,
    mut body: Body,
    method: Method,
) -> ApiResult<Response> {
    let code = body.string("code");
    let trust_device = body.opt_bool("trustDevice").unwrap_or(false);
    body.check()?;
    let mut client = state.db().await?;

    // Context 1: a signed-in user confirming their authenticator (turns 2FA on).
    if let Lookup::Found(current) = current_session::lookup(&state, &headers).await? {
        let enrolment = super::load_enrolment(&state, &client, &current.user.id).await?;
        if !spend_code(&state, &client, &method, &enrolment, &code).await? {
            return Err(rejection(&method));
        }
        // Only the authenticator's code turns two-factor on: a backup code, which `enable`
        // answers beside the key, proves nothing about the authenticator, and turning it on
        // with one left the user asked for codes of an authenticator never set up (locked
        // out, with nine codes left). BetterAuth spends the code and answers the session, as
        // here, without rotating it.
        if (enrolment.row.verified && current.user.two_factor_enabled)
            || matches!(method, Method::Backup)
        {
            return Ok(respond::ok_json(
                json!({"token": current.session.token, "user": state.user_json(&current.user)}),
            ));
        }
        let uid = &current.user.id;
        let tx = client.transaction().await?;
        // The user's row, which turning it on writes, taken first, before the enrolment's, as
        // `disable` takes them: holding only a share lock on it while writing the enrolment, this
        // deadlocked with a `generate-backup-codes` (or an `enable`) that held it shared too and
        // waited for the enrolment.
        users::hold_for_writing(&tx, uid).await?;
        // Turned on only while the session is live, read under that lock: a reset that ended
        // this session, and removed the enrolment if the address was not verified
        // (`drop_if_enrolled_unverified`), must not be followed by turning it on after all.
        let live = [current_session::StillSo::SessionLive(
            &current.session.token,
        )];
        if !current_session::still_so(&tx, uid, &live).await? {
            return Err(ApiError::unauthorized());
        }
        if !two_factor::mark_verified(&tx, &enrolment.row.id).await? {
            return Err(super::not_enabled());
        }
        users::set_two_factor_enabled(&tx, uid, true).await?;
        tx.commit().await?;
        // Privilege change: rotate the session.
        // The code, now; the password only if this session's sign-in proved it (`enable`, which
        // asks for it, may have been called from another of the user's sessions).
        let proved = match current_session::proved(&client, &current).await? {
            Proved::Nothing => Proved::Nothing,
            Proved::Password | Proved::SecondFactor => Proved::SecondFactor,
        };
        let issued =
            current_session::rotate(&state, &mut client, &current, proved, &ip, &headers).await?;
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
    let enrolment = super::load_enrolment(&state, &client, &pending.user_id).await?;
    let attempt = challenge::claim_attempt(&client, &pending).await?;
    let lock_until = crate::db::now_ms() + chrono::Duration::seconds(LOCK_SECS);
    if !two_factor::claim_attempt(&client, &enrolment.row.id, LOCK_AFTER, lock_until).await? {
        return Err(locked());
    }
    if !spend_code(&state, &client, &method, &enrolment, &code).await? {
        return Err(challenge::failure(&client, &pending, attempt, rejection(&method)).await);
    }
    two_factor::reset_failures(&client, &enrolment.row.id).await?;
    // The authenticator or a backup code, not the mailbox, proved this sign-in: codes by mail
    // are a second factor again (see `otp.rs`).
    credential_epoch::password_not_by_mail(&client, &pending.user_id).await?;
    finish_sign_in(&state, &mut client, &pending, &ip, &headers, trust_device).await
}

/// The second factor of sign-in `pending` was right: takes the challenge (once), then issues the
/// session (unless the user was banned meanwhile), expires the `two_factor` cookie and, when
/// asked, trusts the device.
pub(super) async fn finish_sign_in(
    state: &AppState,
    client: &mut crate::db::Client,
    pending: &Pending,
    ip: &str,
    headers: &HeaderMap,
    trust_device: bool,
) -> ApiResult<Response> {
    let user = users::by_id(client, &pending.user_id)
        .await?
        .ok_or_else(challenge::invalid_cookie)?;
    if user.is_banned(Utc::now()) {
        return Err(crate::routes::sign_in::banned_error());
    }
    // The sign-in's rememberMe, carried by the marker its challenge set (`start_challenge`).
    let remember = !current_session::has_dont_remember(state, headers);
    // Taken under the user's lock: one challenge issues one session, and none once a reset or a
    // ban has ended it.
    let issued = current_session::issue_if_still(
        state,
        client,
        &user.id,
        current_session::StillSo::ChallengePending(&pending.identifier),
        // The challenge began with the password (`sign-in/email`).
        Proved::SecondFactor,
        remember,
        ip,
        &user_agent(headers),
    )
    .await?
    .ok_or_else(challenge::invalid_cookie)?;
    challenge::forget_attempts(client, pending).await?;
    let mut cookies = issued.cookies;
    cookies.push(state.cookies.expire(&state.cookies.two_factor));
    if trust_device {
        cookies.push(challenge::trust_device_cookie(state, client, &user.id).await?);
    }
    if remember {
        // Clears a marker the browser should no longer hold (set by an earlier sign-in).
        cookies.push(state.cookies.expire(&state.cookies.dont_remember));
    }
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
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    verify(state, ip, headers, body, Method::Totp).await
}

pub async fn verify_backup_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    verify(state, ip, headers, body, Method::Backup).await
}
