//! Password reset: `POST /request-password-reset`, `GET /reset-password/:token`,
//! `POST /reset-password`. Tokens are 24 random characters stored in `verification` as
//! `reset-password:<token>` → user id, valid one hour, consumed atomically, and dropped when the
//! password changes or the account moves to another address.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::json;

use crate::body::JsonBody;
use crate::cookie::encode_uri_component;
use crate::db::{accounts, credential_epoch, oauth_accounts, sessions, users, verification};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::mail::OutgoingMail;
use crate::mail_budget;
use crate::password;
use crate::respond;
use crate::state::AppState;

/// BetterAuth's `resetPasswordTokenExpiresIn` default.
pub(crate) const TOKEN_LIFETIME_SECS: i64 = 3600;
/// Constant answer time, so "no such user" and "mail sent" look alike.
pub const FLOOR: Duration = Duration::from_millis(300);

const IDENTIFIER_PREFIX: &str = "reset-password:";

fn identifier(token: &str) -> String {
    format!("{IDENTIFIER_PREFIX}{token}")
}

/// Invalidates every reset link the user was sent: after a reset or a password change, an older
/// link (perhaps in a mailbox the attacker reads) must not set the password again. The sign-ins
/// the old password started that wait for their second factor end too.
pub async fn forget_what_the_old_password_started(
    client: &impl deadpool_postgres::GenericClient,
    user_id: &str,
) -> ApiResult<()> {
    verification::delete_for_user(client, user_id, IDENTIFIER_PREFIX).await?;
    crate::routes::two_factor::forget_pending(client, user_id).await?;
    Ok(())
}

pub async fn request(
    State(state): State<AppState>,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let started = Instant::now();
    let email = body.email("email");
    let redirect_to = body.opt_string("redirectTo");
    body.check()?;
    if !state.mailer.is_enabled() {
        return Err(ApiError::bad_request(
            error_codes::RESET_PASSWORD_DISABLED,
            "Reset password isn't enabled",
        ));
    }
    if let Some(r) = &redirect_to {
        if !state.trusted.is_trusted_url(r) {
            return Err(ApiError::forbidden(
                error_codes::INVALID_REDIRECT_URL,
                "Invalid redirectURL",
            ));
        }
    }
    let client = state.db().await?;
    if let Some(user) = users::by_email(&client, &email).await? {
        if mail_budget::take(&client, mail_budget::Kind::PasswordReset, &user.email).await? {
            send_reset_mail(&state, &client, &user, redirect_to.as_deref()).await?;
        }
    }
    super::pad_to_floor(started, FLOOR).await;
    Ok(respond::ok_json(json!({
        "status": true,
        "message": "If this email exists in our system, check your email for the reset link",
    })))
}

/// Stores a fresh reset token for `user` and mails them the link (sent in the background);
/// `redirect_to` is where the link lands after the token checks out (`/` when absent). Nothing is
/// stored or sent when the user's address changed since `user` was read: the change dropped the
/// reset links of the old address, and this one must not outlive it either.
pub async fn send_reset_mail(
    state: &AppState,
    client: &impl deadpool_postgres::GenericClient,
    user: &crate::db::models::User,
    redirect_to: Option<&str>,
) -> ApiResult<()> {
    let token = crate::ids::random_string(24);
    let expires = crate::db::now_ms() + chrono::Duration::seconds(TOKEN_LIFETIME_SECS);
    if !verification::insert_while_address_is(
        client,
        &identifier(&token),
        &user.id,
        &user.email,
        expires,
    )
    .await?
    {
        return Ok(());
    }
    let url = format!(
        "{}/api/auth/reset-password/{token}?callbackURL={}",
        state.config.base(),
        encode_uri_component(redirect_to.unwrap_or("/"))
    );
    state.mailer.send_in_background(OutgoingMail {
        to: user.email.clone(),
        subject: "Reset your password".into(),
        text: format!("{}\n\nClick the link to reset your password:\n{url}\n\nIf you did not ask for this, ignore this mail.\n", crate::mail::greeting_to_holder(user)),
    });
    Ok(())
}

/// The link in the mail: checks the token (without consuming it) and forwards to the app's page.
pub async fn link(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let Some(callback) = query.get("callbackURL") else {
        return Err(ApiError::validation(
            "[query.callbackURL] Invalid input: expected string, received undefined",
        ));
    };
    super::require_trusted_callback(&state, Some(callback))?;
    // Relative callbacks are resolved against the base URL, as BetterAuth does.
    let callback = if callback.starts_with('/') {
        format!(
            "{}{callback}",
            state.config.base_url.origin().ascii_serialization()
        )
    } else {
        callback.clone()
    };
    let client = state.db().await?;
    let valid = verification::peek(&client, &identifier(&token))
        .await?
        .is_some();
    let query = if valid {
        format!("token={}", encode_uri_component(&token))
    } else {
        "error=INVALID_TOKEN".to_owned()
    };
    let location = respond::with_query(&callback, &query);
    Ok(respond::redirect(&location, Vec::new()))
}

/// Sets the new password and invalidates the user's other reset links, in one transaction. All
/// the user's sessions are revoked: a reset usually means the old password leaked, so sessions
/// opened with it must not survive (BetterAuth makes this optional). A second factor enrolled
/// while the address was not verified goes (`two_factor::drop_if_enrolled_unverified`), and so
/// do, when the account moved to its address since the last reset, the provider identities
/// linked before this one proved it (`credential_epoch::take_address_moved_unproved`): they
/// came with the account, or were linked while whoever moved it still held it. The
/// account's budget of password attempts is given back: the guesses that used it up were at the
/// old password, and the owner, who just proved they read the account's mail, can sign in from a
/// new browser again; the browser that made the reset becomes a known device of the new password.
pub async fn reset(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let new_password = body.string("newPassword");
    let token = body
        .opt_string("token")
        .or_else(|| query.get("token").cloned());
    body.check()?;
    let invalid = || ApiError::bad_request(error_codes::INVALID_TOKEN, "Invalid token");
    let Some(token) = token else {
        return Err(invalid());
    };
    password::check_length(&new_password)?;
    let mut client = state.db().await?;
    // Taken before the slow hash: a password change racing the reset finds its link spent and
    // the new password written by the time it writes its own (it writes over the hash it
    // checked only).
    let Some(user_id) = verification::take(&client, &identifier(&token)).await? else {
        return Err(invalid());
    };
    let hash = tokio::task::spawn_blocking(move || password::hash(&new_password))
        .await
        .map_err(ApiError::internal)??;
    let tx = client.transaction().await?;
    // The user's row first, held until the reset is whole: a sign-in or an enrolment checked
    // against the old state (`current_session::still_so`) either commits before the reset,
    // which then ends or removes what it made, or sees all of the reset.
    if !users::hold_for_writing(&tx, &user_id).await? {
        return Err(invalid());
    }
    accounts::set_credential_password(&tx, &user_id, &hash).await?;
    if credential_epoch::take_address_moved_unproved(&tx, &user_id).await? {
        oauth_accounts::unlink_every_identity(&tx, &user_id).await?;
    }
    credential_epoch::password_set_through_reset(&tx, &user_id).await?;
    crate::routes::two_factor::drop_if_enrolled_unverified(&tx, &user_id).await?;
    forget_what_the_old_password_started(&tx, &user_id).await?;
    sessions::delete_all_for_user(&tx, &user_id).await?;
    tx.commit().await?;
    let mut cookies = Vec::new();
    if let Some(user) = users::by_id(&client, &user_id).await? {
        let email = users::normalize_email(&user.email);
        crate::account_throttle::succeeded(&client, &email).await?;
        cookies.extend(crate::known_device::cookie_for_this_browser(
            &state, &headers, &user_id, &hash,
        ));
    }
    Ok(respond::json_with_cookies(
        axum::http::StatusCode::OK,
        json!({"status": true}),
        cookies,
    ))
}
