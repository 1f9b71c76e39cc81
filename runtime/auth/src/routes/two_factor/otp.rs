//! Two-factor by one-time code (BetterAuth's `twoFactor` `otpOptions`), for the second step of a
//! sign-in (`two_factor` cookie): `send-otp` mails a 6-digit code, valid 3 minutes, through the
//! service's mail sender; `verify-otp {code, trustDevice?}` finishes the sign-in with it.
//!
//! The code is stored only as its HMAC under the auth secret, bound to the sign-in's challenge,
//! in a `verification` row `2fa-otp-<challenge>`: a database reader, who could try every one of
//! the million codes against a plain digest in a second, learns nothing usable without the
//! secret. A new `send-otp`
//! replaces the previous code. Each code allows 5 guesses (a counter claimed in one statement
//! before the code is compared), then `TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE`; every guess also
//! counts against the account's two-factor budget (10, then 15 minutes locked, shared with TOTP
//! and backup codes). The right code is taken atomically, so it signs in once.
//!
//! Whoever reads the account's mailbox can also reset its password, so after a reset by mail a
//! code by mail would make the mailbox both factors: until the owner signs in with the
//! authenticator or a backup code (every user with 2FA on has both) or sets the password
//! otherwise, both routes answer `400 OTP_NOT_AFTER_PASSWORD_RESET` and sign-in does not offer
//! `otp` (BetterAuth offers it).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rand::Rng;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::challenge::{self, Pending};
use super::verify::{finish_sign_in, locked, LOCK_AFTER, LOCK_SECS};
use crate::body::JsonBody;
use crate::client_ip::ClientIp;
use crate::current_session::{self, Lookup};
use crate::db::{credential_epoch, two_factor, users, verification};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::mail::OutgoingMail;
use crate::respond;
use crate::state::AppState;

/// BetterAuth's default `otpOptions.period` (3 minutes).
const CODE_SECS: i64 = 180;
/// BetterAuth's default `otpOptions.allowedAttempts`.
const ALLOWED_ATTEMPTS: i32 = 5;
const DIGITS: usize = 6;

fn code_identifier(pending: &Pending) -> String {
    format!("2fa-otp-{}", pending.identifier)
}

fn attempts_identifier(pending: &Pending) -> String {
    format!("2fa-otp-attempts-{}", pending.identifier)
}

/// The stored form of `code` for `pending`'s sign-in, under `secret`.
fn digest(secret: &[u8], pending: &Pending, code: &str) -> String {
    crate::cookie::signature(secret, &format!("{}\0{code}", code_identifier(pending)))
}

/// Whether `code` is the one stored for `pending`: under any secret in use, so that a code sent
/// before the secret was rotated still works for its 3 minutes.
fn is_stored_code(state: &AppState, pending: &Pending, code: &str, stored: &str) -> bool {
    let mut matched = subtle::Choice::from(0);
    for secret in state.secrets().all() {
        matched |= digest(secret, pending, code)
            .as_bytes()
            .ct_eq(stored.as_bytes());
    }
    matched.into()
}

fn not_configured() -> ApiError {
    ApiError::bad_request(error_codes::OTP_NOT_CONFIGURED, "otp isn't configured")
}

fn expired() -> ApiError {
    ApiError::bad_request(error_codes::OTP_HAS_EXPIRED, "OTP has expired")
}

/// The sign-in this request continues. A signed-in caller has no sign-in to finish: turning 2FA
/// on needs an authenticator (`verify-totp`), so codes are only for the second step of sign-in.
async fn pending_sign_in(
    state: &AppState,
    client: &crate::db::Client,
    headers: &HeaderMap,
) -> ApiResult<Pending> {
    if let Lookup::Found(_) = current_session::lookup(state, headers).await? {
        return Err(ApiError::bad_request(
            error_codes::OTP_NOT_ENABLED,
            "OTP not enabled",
        ));
    }
    let pending = challenge::pending(state, client, headers).await?;
    if credential_epoch::password_by_mail(client, &pending.user_id).await? {
        return Err(ApiError::bad_request(
            error_codes::OTP_NOT_AFTER_PASSWORD_RESET,
            "The password was reset by mail: sign in with your authenticator app or a backup code; codes by mail work again after that",
        ));
    }
    Ok(pending)
}

pub async fn send_otp(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    body.opt_bool("trustDevice");
    body.check()?;
    if !state.mailer.is_enabled() {
        return Err(not_configured());
    }
    let mut client = state.db().await?;
    let pending = pending_sign_in(&state, &client, &headers).await?;
    let user = users::by_id(&client, &pending.user_id)
        .await?
        .ok_or_else(challenge::invalid_cookie)?;
    let code: String = (0..DIGITS)
        .map(|_| char::from(b'0' + rand::rng().random_range(0..10u8)))
        .collect();
    let expires = crate::db::now_ms() + chrono::Duration::seconds(CODE_SECS);
    let (code_row, attempts_row) = (code_identifier(&pending), attempts_identifier(&pending));
    verification::replace(
        &mut client,
        &[
            (&code_row, &digest(state.secret(), &pending, &code)),
            (&attempts_row, "0"),
        ],
        expires,
    )
    .await?;
    state.mailer.send_in_background(OutgoingMail {
        to: user.email.clone(),
        subject: "Your sign-in code".into(),
        text: format!(
            "{}\n\nYour sign-in code: {code}\n\nIt is valid for 3 minutes. If you are not signing in, change your password.\n",
            crate::mail::greeting_to_holder(&user)
        ),
    });
    Ok(respond::ok_json(json!({"status": true})))
}

pub async fn verify_otp(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let code = body.string("code");
    let trust_device = body.opt_bool("trustDevice").unwrap_or(false);
    body.check()?;
    let mut client = state.db().await?;
    let pending = pending_sign_in(&state, &client, &headers).await?;
    let enrolment = super::load_enrolment(&state, &client, &pending.user_id).await?;
    let lock_until = crate::db::now_ms() + chrono::Duration::seconds(LOCK_SECS);
    if !two_factor::claim_attempt(&client, &enrolment.row.id, LOCK_AFTER, lock_until).await? {
        return Err(locked());
    }
    let Some(stored) = verification::peek(&client, &code_identifier(&pending)).await? else {
        return Err(expired());
    };
    if verification::claim_use(&client, &attempts_identifier(&pending), ALLOWED_ATTEMPTS)
        .await?
        .is_none()
    {
        return Err(ApiError::bad_request(
            error_codes::TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE,
            "Too many attempts. Please request a new code.",
        ));
    }
    if !is_stored_code(&state, &pending, &code, &stored) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            error_codes::INVALID_CODE,
            "Invalid code",
        ));
    }
    // Only one request takes the code; a concurrent one finds it gone.
    if verification::take(&client, &code_identifier(&pending))
        .await?
        .is_none()
    {
        return Err(expired());
    }
    verification::delete(&client, &attempts_identifier(&pending)).await?;
    two_factor::reset_failures(&client, &enrolment.row.id).await?;
    finish_sign_in(&state, &mut client, &pending, &ip, &headers, trust_device).await
}
