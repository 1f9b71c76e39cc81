//! `POST /api/auth/sign-in/email`.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

use crate::body::JsonOrFormBody;
use crate::client_ip::{user_agent, ClientIp};
use crate::current_session;
use crate::db::session_sign_in::Proved;
use crate::db::{accounts, users};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::known_device;
use crate::password::{self, Verdict};
use crate::respond;
use crate::state::AppState;

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        error_codes::INVALID_EMAIL_OR_PASSWORD,
        "Invalid email or password",
    )
}

pub fn banned_error() -> ApiError {
    ApiError::forbidden(
        error_codes::BANNED_USER,
        "You have been banned from this application. Please contact support if you believe this is an error.",
    )
}

/// Checks a signed-in user's `password` again (before a sensitive change), out of the same
/// budget as a sign-in from this browser (see [`known_device`]): a stolen session cookie must
/// not allow unlimited guesses at the password. The answer is the stored hash that matched (a
/// change made on the strength of it must not overwrite a newer one); `None` = wrong password,
/// no credential account, or the budget used up.
pub async fn check_password(
    state: &AppState,
    headers: &HeaderMap,
    client: &crate::db::Client,
    user: &crate::db::models::User,
    password_in: String,
) -> ApiResult<Option<String>> {
    let stored = accounts::credential_password(client, &user.id)
        .await?
        .flatten();
    let budget = known_device::budget(
        state,
        headers,
        &users::normalize_email(&user.email),
        stored.as_deref().map(|hash| (user.id.as_str(), hash)),
    );
    attempt(state, client, &budget, Some(&user.id), stored, password_in).await
}

/// One password attempt drawn on the throttle's budget `budget`: `password_in` checked against
/// `stored`, the credential hash of the user `user_id` (both read by the caller), on the
/// blocking pool, upgrading a legacy BetterAuth scrypt hash to argon2id when it matches. The
/// answer is the stored hash that matched (the upgraded one after an upgrade): a session opened
/// on the strength of it must not outlive a change of it. `None` for a wrong password, no such
/// user or credential, or a used-up budget, each after the same work (whatever the stored hash's
/// scheme, see [`password::burn_what_the_check_skipped`]), so that the answer's time reveals
/// neither which accounts exist nor which are locked. A match gives the budget back.
async fn attempt(
    state: &AppState,
    client: &crate::db::Client,
    budget: &str,
    user_id: Option<&str>,
    stored: Option<String>,
    password_in: String,
) -> ApiResult<Option<String>> {
    let allowed = crate::account_throttle::try_attempt(client, budget).await?;
    if let Some(stored) = &stored {
        state.legacy_hashes.note(stored);
    }
    let legacy = state.legacy_hashes.may_be_stored();
    let (true, Some(user_id), Some(stored)) = (allowed, user_id, stored) else {
        tokio::task::spawn_blocking(move || {
            password::burn_what_the_check_skipped(&password_in, None, legacy);
        })
        .await
        .map_err(ApiError::internal)?;
        return Ok(None);
    };
    let (verdict, password_in, stored) = tokio::task::spawn_blocking(move || {
        let v = password::verify(&password_in, &stored);
        if !v.is_match() {
            password::burn_what_the_check_skipped(&password_in, Some(&stored), legacy);
        }
        (v, password_in, stored)
    })
    .await
    .map_err(ApiError::internal)?;
    let matched = match verdict {
        Verdict::MatchNeedsUpgrade => {
            let new_hash = tokio::task::spawn_blocking(move || password::hash(&password_in))
                .await
                .map_err(ApiError::internal)??;
            // Reset or changed while it was being checked: the old password is no longer it.
            let replaced =
                accounts::replace_credential_password(client, user_id, &stored, &new_hash).await?;
            if replaced {
                tracing::info!(
                    user_id,
                    "upgraded a BetterAuth scrypt password hash to argon2id"
                );
            }
            replaced.then_some(new_hash)
        }
        verdict => verdict.is_match().then_some(stored),
    };
    if matched.is_some() {
        crate::account_throttle::succeeded(client, budget).await?;
    }
    Ok(matched)
}

pub async fn post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonOrFormBody(mut body): JsonOrFormBody,
) -> ApiResult<Response> {
    let email = crate::db::users::normalize_email(&body.string("email"));
    let password_in = body.string("password");
    let callback_url = body.opt_string("callbackURL");
    let remember = body.opt_bool("rememberMe").unwrap_or(true);
    body.check()?;
    super::require_trusted_callback(&state, callback_url.as_deref())?;

    let mut client = state.db().await?;
    let found = users::by_email(&client, &email).await?;
    let stored = match &found {
        Some(user) => accounts::credential_password(&client, &user.id)
            .await?
            .flatten(),
        None => None,
    };
    let user_id = found.as_ref().map(|user| user.id.as_str());
    // The account's budget, or this browser's own when it is a known device of the account and
    // its current password.
    let budget = known_device::budget(&state, &headers, &email, user_id.zip(stored.as_deref()));
    // A locked account and an unknown one are answered like a wrong password.
    let matched = attempt(&state, &client, &budget, user_id, stored, password_in).await?;
    let (Some(password_hash), Some(mut user)) = (matched, found) else {
        return Err(invalid_credentials());
    };
    let known_device_cookie =
        known_device::cookie_for_this_browser(&state, &headers, &user.id, &password_hash);
    if state.config.require_email_verification && !user.email_verified {
        return Err(ApiError::forbidden(
            error_codes::EMAIL_NOT_VERIFIED,
            "Email not verified",
        ));
    }
    let now = chrono::Utc::now();
    if user.is_banned(now) {
        return Err(banned_error());
    }
    if user.banned == Some(true) {
        // The ban has expired: lift it, as BetterAuth's admin plugin does lazily.
        users::lift_expired_ban(&client, &user.id).await?;
        user.banned = Some(false);
        user.ban_reason = None;
        user.ban_expires = None;
    }
    let mut extra_cookies = Vec::new();
    if user.two_factor_enabled {
        match crate::routes::two_factor::trusted_device(&state, &headers, &user.id).await? {
            Some(rotated) => extra_cookies = rotated,
            None => {
                let Some(mut challenge) = crate::routes::two_factor::start_challenge(
                    &state,
                    &mut client,
                    &user.id,
                    &password_hash,
                    remember,
                    &headers,
                )
                .await?
                else {
                    return Err(invalid_credentials());
                };
                respond::add_cookies(&mut challenge, known_device_cookie.into_iter().collect());
                return Ok(challenge);
            }
        }
    }

    let Some(issued) = current_session::issue_if_still(
        &state,
        &mut client,
        &user.id,
        current_session::StillSo::PasswordHash(&password_hash),
        // With two-factor on, only a trusted device gets here: it proved the second factor
        // when it was trusted.
        match user.two_factor_enabled {
            true => Proved::SecondFactor,
            false => Proved::Password,
        },
        remember,
        &ip,
        &user_agent(&headers),
    )
    .await?
    else {
        // The password was reset or changed, or the user banned, while it was being checked.
        return Err(invalid_credentials());
    };
    let mut out = Map::new();
    out.insert("redirect".into(), Value::Bool(callback_url.is_some()));
    out.insert("token".into(), issued.session.token.clone().into());
    if let Some(cb) = &callback_url {
        out.insert("url".into(), cb.clone().into());
    }
    out.insert("user".into(), state.user_json(&user));
    let mut cookies = issued.cookies;
    cookies.extend(extra_cookies);
    cookies.extend(known_device_cookie);
    let mut res = respond::json_with_cookies(StatusCode::OK, Value::Object(out), cookies);
    if let Some(cb) = callback_url {
        if let Ok(v) = HeaderValue::from_str(&cb) {
            res.headers_mut().insert(header::LOCATION, v);
        }
    }
    Ok(res)
}
