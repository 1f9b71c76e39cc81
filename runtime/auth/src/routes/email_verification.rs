//! `POST /send-verification-email` and `GET /verify-email` (stateless HS256 JWT links).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::body::JsonBody;
use crate::cookie::encode_uri_component;
use crate::current_session::{self, Lookup};
use crate::db::models::User;
use crate::db::users;
use crate::db::{accounts, credential_epoch, sessions};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::jwt;
use crate::mail::OutgoingMail;
use crate::mail_budget;
use crate::respond;
use crate::state::AppState;

/// BetterAuth's `emailVerification.expiresIn` default.
pub(crate) const LINK_LIFETIME_SECS: i64 = 3600;
/// Anonymous requests that may mail a verification link (this one, and a sign-up while addresses
/// must be verified) always take at least this long, so timing reveals nothing about accounts.
pub const ANONYMOUS_FLOOR: Duration = Duration::from_millis(500);

/// A `verify-email` link carrying `claims` (plus `iat` and `exp`) as a signed JWT.
pub(crate) fn verification_link(
    state: &AppState,
    mut claims: Map<String, Value>,
    callback_url: Option<&str>,
) -> String {
    let now = chrono::Utc::now().timestamp();
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + LINK_LIFETIME_SECS).into());
    format!(
        "{}/api/auth/verify-email?token={}&callbackURL={}",
        state.config.base(),
        jwt::encode(state.secret(), &claims),
        encode_uri_component(callback_url.unwrap_or("/"))
    )
}

/// Mails a verification link to `user` (in the background).
pub fn send_verification_mail(state: &AppState, user: &User, callback_url: Option<&str>) {
    let mut claims = Map::new();
    claims.insert("email".into(), user.email.clone().into());
    claims.insert("userId".into(), user.id.clone().into());
    let url = verification_link(state, claims, callback_url);
    state.mailer.send_in_background(OutgoingMail {
        to: user.email.clone(),
        subject: "Verify your email address".into(),
        // No name: the address is not proved yet, and anyone may sign up with any.
        text: format!(
            "{}\n\nClick the link to verify your email:\n{url}\n",
            crate::mail::greeting(None)
        ),
    });
}

pub async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let started = Instant::now();
    let email = body.email("email");
    let callback_url = body.opt_string("callbackURL");
    body.check()?;
    if !state.mailer.is_enabled() {
        return Err(ApiError::bad_request(
            error_codes::VERIFICATION_EMAIL_NOT_ENABLED,
            "Verification email isn't enabled",
        ));
    }
    super::require_trusted_callback(&state, callback_url.as_deref())?;
    if let Lookup::Found(current) = current_session::lookup(&state, &headers).await? {
        if users::normalize_email(&current.user.email) != email {
            return Err(ApiError::bad_request(
                error_codes::EMAIL_MISMATCH,
                "Email mismatch",
            ));
        }
        if current.user.email_verified {
            return Err(ApiError::bad_request(
                error_codes::EMAIL_ALREADY_VERIFIED,
                "Email is already verified",
            ));
        }
        let client = state.db().await?;
        if mail_budget::take(
            &client,
            mail_budget::Kind::Verification,
            &current.user.email,
        )
        .await?
        {
            send_verification_mail(&state, &current.user, callback_url.as_deref());
        }
        return Ok(respond::ok_json(json!({"status": true})));
    }
    let client = state.db().await?;
    if let Some(user) = users::by_email(&client, &email).await? {
        if !user.email_verified
            && mail_budget::take(&client, mail_budget::Kind::Verification, &user.email).await?
        {
            send_verification_mail(&state, &user, callback_url.as_deref());
        }
    }
    super::pad_to_floor(started, ANONYMOUS_FLOOR).await;
    Ok(respond::ok_json(json!({"status": true})))
}

fn failure(code: &str, message: &str, status: StatusCode, callback: Option<&str>) -> Response {
    match callback {
        Some(cb) => back_with_error(cb, code),
        None => axum::response::IntoResponse::into_response(ApiError::new(status, code, message)),
    }
}

/// A link opened in a browser that failed: back to its `callback` with the error's `code` in the
/// query (`?error=INVALID_TOKEN`), as BetterAuth answers.
fn back_with_error(callback: &str, code: &str) -> Response {
    respond::redirect(
        &respond::with_query(callback, &format!("error={code}")),
        Vec::new(),
    )
}

/// What proving `user`'s address (not verified until now) means beyond the flag, in the
/// transaction that sets it (by the verification link, or by an admin): when someone else signed
/// up for the address with another password before it was proved (`routes::sign_up`), the stored
/// password was chosen by whoever never proved the mailbox, which its owner now has: it goes,
/// with the sessions, and a reset link is mailed there.
pub async fn address_proved(
    state: &AppState,
    tx: &impl deadpool_postgres::GenericClient,
    user: &User,
) -> ApiResult<()> {
    if credential_epoch::take_sign_up_contest(tx, &user.id).await? {
        accounts::clear_credential_password(tx, &user.id).await?;
        sessions::delete_all_for_user(tx, &user.id).await?;
        super::password_reset::send_reset_mail(state, tx, user, None).await?;
    }
    Ok(())
}

pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let Some(token) = query.get("token") else {
        return Err(ApiError::validation(
            "[query.token] Invalid input: expected string, received undefined",
        ));
    };
    let callback = query.get("callbackURL").map(String::as_str);
    super::require_trusted_callback(&state, callback)?;
    let invalid_token = || {
        failure(
            error_codes::INVALID_TOKEN,
            "Invalid token",
            StatusCode::UNAUTHORIZED,
            callback,
        )
    };
    let claims = match jwt::decode_any(state.secrets().all(), token, chrono::Utc::now().timestamp())
    {
        Ok(c) => c,
        Err(jwt::JwtError::Expired) => {
            return Ok(failure(
                error_codes::TOKEN_EXPIRED,
                "Token expired",
                StatusCode::UNAUTHORIZED,
                callback,
            ))
        }
        Err(jwt::JwtError::Invalid) => return Ok(invalid_token()),
    };
    if claims.get("updateTo").and_then(Value::as_str).is_some() {
        return change_address(&state, &headers, &claims, callback).await;
    }
    let email = claims.get("email").and_then(Value::as_str).unwrap_or("");
    let user_id = claims.get("userId").and_then(Value::as_str);
    let mut client = state.db().await?;
    let Some(user) = users::by_email(&client, email)
        .await?
        .filter(|u| user_id.is_none_or(|id| id == u.id))
    else {
        return Ok(match user_id {
            Some(_) => invalid_token(),
            None => failure(
                error_codes::USER_NOT_FOUND,
                "User not found",
                StatusCode::UNAUTHORIZED,
                callback,
            ),
        });
    };
    if !user.email_verified {
        let tx = client.transaction().await?;
        if !users::set_email_verified(&tx, &user.id, &user.email).await? {
            return Ok(invalid_token());
        }
        address_proved(&state, &tx, &user).await?;
        tx.commit().await?;
        // A GET, so the cache middleware does not see this change.
        state.session_cache.invalidate_all();
    }
    Ok(match callback {
        Some(cb) => respond::redirect(cb, Vec::new()),
        None => respond::ok_json(json!({"status": true, "user": null})),
    })
}

/// A change-email link (`updateTo`): moves the user bound by `userId` from `email` to `updateTo`,
/// once (the address must still be `email`), keeping `emailVerified` as it was (as BetterAuth
/// does); a confirmation link (opened from the current address) mails the link that does, to
/// `updateTo`. Opened while signed in, it must be the same user's session, whose cookie is then
/// set again. Only the links [`super::change_email`] mails are accepted (`requestType`), and only
/// while the user's credentials are those the link was bound to (`CREDENTIALS_CHANGED` after a
/// password reset or change, or after all sessions were ended), and while the session that asked
/// for it is live: a link asked for with a stolen session must not outlive the owner's recovery.
async fn change_address(
    state: &AppState,
    headers: &HeaderMap,
    claims: &Map<String, Value>,
    callback: Option<&str>,
) -> ApiResult<Response> {
    let claim = |name: &str| claims.get(name).and_then(Value::as_str);
    let (email, update_to) = (
        claim("email").unwrap_or(""),
        claim("updateTo").unwrap_or(""),
    );
    let invalid = || {
        failure(
            error_codes::INVALID_TOKEN,
            "Invalid token",
            StatusCode::UNAUTHORIZED,
            callback,
        )
    };
    let Some(user_id) = claim("userId") else {
        return Ok(invalid());
    };
    let mut client = state.db().await?;
    let Some(bound) = users::by_id(&client, user_id).await? else {
        return Ok(failure(
            error_codes::USER_NOT_FOUND,
            "User not found",
            StatusCode::UNAUTHORIZED,
            callback,
        ));
    };
    if users::normalize_email(&bound.email) != email {
        return Ok(invalid());
    }
    let session = match current_session::lookup(state, headers).await? {
        Lookup::Found(current) if current.user.id != bound.id => {
            return Ok(failure(
                error_codes::INVALID_USER,
                "Invalid user",
                StatusCode::UNAUTHORIZED,
                callback,
            ))
        }
        Lookup::Found(current) => Some(current),
        _ => None,
    };
    let request = claim("requestType");
    let confirmation = request == Some(super::change_email::CONFIRMATION_REQUEST);
    if !confirmation && request != Some(super::change_email::VERIFICATION_REQUEST) {
        return Ok(invalid());
    }
    let Some(claimed) = claim(super::change_email::BINDING_CLAIM) else {
        return Ok(invalid());
    };
    let credentials_changed = || {
        failure(
            error_codes::CREDENTIALS_CHANGED,
            "The account's password, sessions or address changed since this link was sent; ask for a new one",
            StatusCode::UNAUTHORIZED,
            callback,
        )
    };
    let credentials = credential_epoch::credentials(&client, &bound.id).await?;
    let made_while_verified = claims
        .get(super::change_email::ADDRESS_VERIFIED_CLAIM)
        .and_then(Value::as_bool)
        == Some(true);
    if !super::change_email::binding_holds(state, claimed, &bound.id, &credentials)
        || (bound.email_verified && !made_while_verified)
    {
        return Ok(credentials_changed());
    }
    let tx = client.transaction().await?;
    let asked_by = claim(super::change_email::SESSION_CLAIM).unwrap_or("");
    if !sessions::live_and_held(&tx, asked_by, &bound.id).await? {
        return Ok(credentials_changed());
    }
    if confirmation {
        // Read while the session is held: the verification link dies with a change of the
        // credentials made after this answer.
        let binding = super::change_email::binding(state, &tx, &bound.id).await?;
        tx.commit().await?;
        let started = super::change_email::confirmed(
            state,
            bound,
            update_to.to_owned(),
            asked_by.to_owned(),
            callback.map(str::to_owned),
            binding,
        );
        return Ok(match (started, callback) {
            (Ok(()), Some(cb)) => respond::redirect(cb, Vec::new()),
            (Ok(()), None) => respond::ok_json(json!({"status": true})),
            // Refused at the bound, opened in a browser: the app's page can say to try again.
            (Err(refused), Some(cb)) if refused.status == StatusCode::TOO_MANY_REQUESTS => {
                back_with_error(cb, error_codes::TOO_MANY_REQUESTS)
            }
            (Err(refused), _) => return Err(refused),
        });
    }
    match users::change_email(&tx, &bound.id, email, update_to, &credentials).await? {
        users::EmailChange::Changed => {}
        users::EmailChange::Stale => return Ok(invalid()),
        users::EmailChange::Taken => {
            return Ok(failure(
                error_codes::USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL,
                "User already exists. Use another email.",
                StatusCode::UNPROCESSABLE_ENTITY,
                callback,
            ))
        }
    }
    // What went to the old address (reset links, sign-in codes) goes with it, in the same
    // transaction: whoever reads the old mailbox gains nothing over the account any more. This
    // link, and every other one pending, moves the account no more.
    super::change_email::address_moved(&tx, &bound.id).await?;
    tx.commit().await?;
    // A GET, so the cache middleware does not see this change.
    state.session_cache.invalidate_all();
    let cookies = session
        .map(|s| current_session::session_cookies(state, &s.session.token, !s.dont_remember))
        .unwrap_or_default();
    let user = users::by_id(&client, &bound.id)
        .await?
        .ok_or_else(|| ApiError::internal("the user whose address just changed is gone"))?;
    Ok(match callback {
        Some(cb) => respond::redirect(cb, cookies),
        None => respond::json_with_cookies(
            StatusCode::OK,
            json!({"status": true, "user": state.user_json(&user)}),
            cookies,
        ),
    })
}
