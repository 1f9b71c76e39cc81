//! The sign-in challenge and trusted devices.
//!
//! With 2FA on, sign-in answers `{"twoFactorRedirect":true,"twoFactorMethods":["totp"]}` with no
//! session, and a signed `two_factor` cookie naming a 10-minute `verification` row
//! `2fa-<20 chars>` → user id. A `trust_device` cookie (30 days, rotated on use) lets a device
//! skip the challenge: `<b64url HMAC(secret, "<userId>!<id>")>!<id>`, signed, with `id` =
//! `trust-device-<32 chars>` recorded in `verification`.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::cookie;
use crate::current_session;
use crate::db::credential_epoch::{self, Credentials};
use crate::db::verification;
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::respond;
use crate::state::AppState;

pub const CHALLENGE_SECS: i64 = 600;
pub const TRUST_DEVICE_SECS: i64 = 30 * 24 * 3600;
const TRUST_DEVICE_PREFIX: &str = "trust-device-";
/// Wrong codes allowed per challenge before a new sign-in is needed.
pub const MAX_ATTEMPTS: u32 = 5;

/// Ends the user's sign-ins that wait for their second factor: each was started with a password
/// that is being replaced (reset or changed), perhaps by whoever it leaked to.
pub async fn forget_pending(
    client: &impl deadpool_postgres::GenericClient,
    user_id: &str,
) -> Result<(), tokio_postgres::Error> {
    verification::delete_for_user(client, user_id, CHALLENGE_PREFIX).await
}

/// Identifiers of the challenge rows (`2fa-<20 chars>` → user id).
const CHALLENGE_PREFIX: &str = "2fa-";

/// Starts the second step of a sign-in whose password matched the stored hash `password_hash`;
/// `None` when that hash was replaced meanwhile (or the user banned). The challenge is written
/// under a share lock on the user's row, and the hash read after the lock (`still_so`): a reset
/// holds that row from before it writes the hash until it has ended the pending challenges
/// ([`forget_pending`]) and committed, so either the reset ends the challenge or the challenge
/// sees the new hash. The sign-in's `remember` goes with the challenge as BetterAuth carries it,
/// in the browser: the `dont_remember` marker (a stale one, from the request's `headers`,
/// expired when remembering), which the challenge's end reads (`verify::finish_sign_in`).
pub async fn start_challenge(
    state: &AppState,
    client: &mut crate::db::Client,
    user_id: &str,
    password_hash: &str,
    remember: bool,
    headers: &HeaderMap,
) -> ApiResult<Option<Response>> {
    let identifier = format!("{CHALLENGE_PREFIX}{}", crate::ids::random_string(20));
    let expires = crate::db::now_ms() + chrono::Duration::seconds(CHALLENGE_SECS);
    let tx = client.transaction().await?;
    let still = [current_session::StillSo::PasswordHash(password_hash)];
    if !current_session::still_so(&tx, user_id, &still).await? {
        return Ok(None);
    }
    verification::insert(&tx, &identifier, user_id, expires).await?;
    verification::insert(&tx, &attempts_identifier(&identifier), "0", expires).await?;
    let by_mail = credential_epoch::password_by_mail(&tx, user_id).await?;
    tx.commit().await?;
    let names = &state.cookies;
    let mut cookies = vec![
        names.expire(&names.session_token),
        names.expire(&names.session_data),
        names.set_cookie(
            &names.two_factor,
            &cookie::sign_for_cookie(state.secret(), &identifier),
            Some(CHALLENGE_SECS),
        ),
    ];
    if !remember {
        cookies.push(current_session::dont_remember_cookie(state));
    } else if current_session::has_dont_remember(state, headers) {
        cookies.push(names.expire(&names.dont_remember));
    }
    // Every user with 2FA on has an authenticator; a one-time code by mail needs a mail sender,
    // and is no second factor after a reset by mail (`otp.rs`).
    let mut methods = vec!["totp"];
    if state.mailer.is_enabled() && !by_mail {
        methods.push("otp");
    }
    Ok(Some(respond::json_with_cookies(
        StatusCode::OK,
        json!({"twoFactorRedirect": true, "twoFactorMethods": methods}),
        cookies,
    )))
}

pub fn attempts_identifier(identifier: &str) -> String {
    format!("2fa-attempts-{identifier}")
}

/// A pending challenge resolved from the `two_factor` cookie.
pub struct Pending {
    pub identifier: String,
    pub user_id: String,
}

pub fn invalid_cookie() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        error_codes::INVALID_TWO_FACTOR_COOKIE,
        "Invalid two factor cookie",
    )
}

pub async fn pending(
    state: &AppState,
    client: &crate::db::Client,
    headers: &HeaderMap,
) -> ApiResult<Pending> {
    let identifier = cookie::find(headers, &state.cookies.two_factor)
        .and_then(|v| state.secrets().verify_cookie(v))
        .ok_or_else(invalid_cookie)?;
    let user_id = verification::peek(client, &identifier)
        .await?
        .ok_or_else(invalid_cookie)?;
    Ok(Pending {
        identifier,
        user_id,
    })
}

/// Claims one of the challenge's `MAX_ATTEMPTS` attempts before the code is looked at (check and
/// count are one statement, so concurrent guesses cannot overrun the limit): the attempt number,
/// or the invalid-cookie error once the challenge is used up.
pub async fn claim_attempt(client: &crate::db::Client, pending: &Pending) -> ApiResult<u32> {
    let key = attempts_identifier(&pending.identifier);
    match verification::claim_use(client, &key, MAX_ATTEMPTS as i32).await? {
        Some(n) => Ok(n as u32),
        None => Err(invalid_cookie()),
    }
}

/// The answer to a wrong code: the last allowed attempt burns the challenge.
pub async fn failure(
    client: &crate::db::Client,
    pending: &Pending,
    attempt: u32,
    wrong_code: ApiError,
) -> ApiError {
    if attempt < MAX_ATTEMPTS {
        return wrong_code;
    }
    if let Err(e) = delete(client, pending).await {
        return e;
    }
    ApiError::bad_request(
        error_codes::TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE,
        "Too many attempts. Please request a new code.",
    )
}

async fn delete(client: &crate::db::Client, pending: &Pending) -> ApiResult<()> {
    verification::delete(client, &pending.identifier).await?;
    verification::delete(client, &attempts_identifier(&pending.identifier)).await?;
    Ok(())
}

/// Forgets the attempts counter of a challenge that was taken (the sign-in finished).
pub async fn forget_attempts(client: &crate::db::Client, pending: &Pending) -> ApiResult<()> {
    Ok(verification::delete(client, &attempts_identifier(&pending.identifier)).await?)
}

/// Forgets every device the user trusted (2FA was turned off: re-enabling it must ask again).
pub async fn forget_trusted_devices(
    client: &impl deadpool_postgres::GenericClient,
    user_id: &str,
) -> ApiResult<()> {
    Ok(verification::delete_for_user(client, user_id, TRUST_DEVICE_PREFIX).await?)
}

/// The MAC of a trust-device cookie: bound to the user and to their [`Credentials`] when the
/// device was trusted, so that a password reset or change, the end of all (or all other)
/// sessions or a new address ends the trust (whoever had the password and the second factor then
/// may have the new password too).
fn device_mac(secret: &[u8], user_id: &str, credentials: &Credentials, id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(format!("{user_id}!{id}").as_bytes());
    credentials.update_mac(&mut mac);
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Issues a new trust-device cookie for `user_id`.
pub async fn trust_device_cookie(
    state: &AppState,
    client: &crate::db::Client,
    user_id: &str,
) -> ApiResult<String> {
    let credentials = credential_epoch::credentials(client, user_id).await?;
    trust_device_cookie_for(state, client, user_id, &credentials).await
}

/// [`trust_device_cookie`] for `user_id`'s `credentials` as already read.
async fn trust_device_cookie_for(
    state: &AppState,
    client: &crate::db::Client,
    user_id: &str,
    credentials: &Credentials,
) -> ApiResult<String> {
    let id = format!("{TRUST_DEVICE_PREFIX}{}", crate::ids::random_string(32));
    let expires = crate::db::now_ms() + chrono::Duration::seconds(TRUST_DEVICE_SECS);
    verification::insert(client, &id, user_id, expires).await?;
    let value = format!(
        "{}!{id}",
        device_mac(state.secret(), user_id, credentials, &id)
    );
    Ok(state.cookies.set_cookie(
        &state.cookies.trust_device,
        &cookie::sign_for_cookie(state.secret(), &value),
        Some(TRUST_DEVICE_SECS),
    ))
}

/// A valid trust-device cookie lets sign-in skip the challenge; returns the rotated cookie.
pub async fn trusted_device(
    state: &AppState,
    headers: &HeaderMap,
    user_id: &str,
) -> ApiResult<Option<Vec<String>>> {
    let Some(value) = cookie::find(headers, &state.cookies.trust_device)
        .and_then(|v| state.secrets().verify_cookie(v))
    else {
        return Ok(None);
    };
    let Some((mac, id)) = value.split_once('!') else {
        return Ok(None);
    };
    let client = state.db().await?;
    let credentials = credential_epoch::credentials(&client, user_id).await?;
    let genuine = state.secrets().all().any(|secret| {
        bool::from(
            device_mac(secret, user_id, &credentials, id)
                .as_bytes()
                .ct_eq(mac.as_bytes()),
        )
    });
    if !genuine {
        return Ok(None);
    }
    match verification::take(&client, id).await? {
        Some(owner) if owner == user_id => Ok(Some(vec![
            trust_device_cookie_for(state, &client, user_id, &credentials).await?,
        ])),
        _ => Ok(None),
    }
}
