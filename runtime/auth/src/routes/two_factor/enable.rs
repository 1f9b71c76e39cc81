//! `enable`, `disable`, `get-totp-uri` (all need the session and the password).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::body::{Body, JsonBody};
use crate::client_ip::ClientIp;
use crate::current_session;
use crate::db::session_sign_in::Proved;
use crate::db::{two_factor, users};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::respond;
use crate::state::AppState;

const DEFAULT_ISSUER: &str = "stackr";

/// `POST /two-factor/enable {password, issuer?}` → `{"totpURI","backupCodes"}`; 2FA turns on only
/// after the first successful `verify-totp`.
pub async fn enable(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let password = body.string("password");
    let issuer = body
        .opt_string("issuer")
        .unwrap_or_else(|| DEFAULT_ISSUER.into());
    body.check()?;
    let current = current_session::require(&state, &headers).await?;
    let mut client = state.db().await?;
    let matched =
        super::require_password(&state, &headers, &client, &current.user, password).await?;
    let uid = &current.user.id;
    let tx = client.transaction().await?;
    // Only while the session is live and the password the one checked, read under a share lock
    // on the user's row: an enrolment must not land after a reset that ended this session (and
    // removed what it enrolled, `drop_if_enrolled_unverified`), nor miss a verification of the
    // address committed before it.
    if !super::still_confirmed(&tx, &current, &matched).await? {
        return Err(ApiError::unauthorized());
    }
    // Replacing a verified enrolment would silently break the user's authenticator.
    if two_factor::by_user(&tx, uid)
        .await?
        .is_some_and(|row| row.verified)
    {
        return Err(ApiError::bad_request(
            error_codes::TOTP_ALREADY_ENABLED,
            "TOTP is already enabled",
        ));
    }
    let secret = crate::ids::random_string(32);
    let codes = super::backup_codes::new_codes();
    two_factor::replace(
        &tx,
        uid,
        &state.secrets().encrypt(&secret),
        &super::backup_codes::seal(&state, &codes),
    )
    .await?;
    tx.commit().await?;
    Ok(respond::ok_json(json!({
        "method": "totp",
        "totpURI": crate::totp::uri(&issuer, &current.user.email, secret.as_bytes()),
        "backupCodes": codes,
    })))
}

/// `POST /two-factor/get-totp-uri {password}` → `{"totpURI"}`.
pub async fn get_totp_uri(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let (current, client, _) = confirmed_by_password(&state, &headers, body).await?;
    let enrolment = super::load_enrolment(&state, &client, &current.user.id).await?;
    Ok(respond::ok_json(json!({
        "totpURI": crate::totp::uri(DEFAULT_ISSUER, &current.user.email, &enrolment.key),
    })))
}

/// `POST /two-factor/disable {password}` → `{"status":true}`; rotates the session (privilege
/// change) and forgets every trusted device, so turning 2FA on again asks every browser again.
pub async fn disable(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let (current, mut client, matched) = confirmed_by_password(&state, &headers, body).await?;
    let uid = &current.user.id;
    let tx = client.transaction().await?;
    // The row the update below changes, locked first: two disables of one user would otherwise
    // both hold it shared and deadlock on the update.
    users::hold_for_writing(&tx, uid).await?;
    // Only while the session is live and the password the one checked: a reset (or a ban) that
    // landed after the password check ended this session and outranks the request.
    if !super::still_confirmed(&tx, &current, &matched).await? {
        state.session_cache.invalidate_all();
        return Err(ApiError::unauthorized());
    }
    super::turn_off(&tx, uid).await?;
    tx.commit().await?;
    // The password, checked above, and what the session had.
    let proved = current_session::proved(&client, &current)
        .await?
        .max(Proved::Password);
    let issued =
        current_session::rotate(&state, &mut client, &current, proved, &ip, &headers).await?;
    let mut cookies = issued.cookies;
    if crate::cookie::find(&headers, &state.cookies.trust_device).is_some() {
        cookies.push(state.cookies.expire(&state.cookies.trust_device));
    }
    Ok(respond::json_with_cookies(
        StatusCode::OK,
        json!({"status": true}),
        cookies,
    ))
}

/// A `{password}` body, a signed-in user, and that user's password: the session, a database
/// client and the stored hash the password matched once all three check out, in the order
/// BetterAuth checks them (body, session, password); an admin's session must also be one that
/// may manage the second factor (`refuse_for_an_admin_without_it`).
async fn confirmed_by_password(
    state: &AppState,
    headers: &HeaderMap,
    mut body: Body,
) -> ApiResult<(current_session::CurrentSession, crate::db::Client, String)> {
    let password = body.string("password");
    body.check()?;
    let current = current_session::require(state, headers).await?;
    let client = state.db().await?;
    // Before the password is checked: the refusal is no guess at it.
    super::refuse_for_an_admin_without_it(&client, &current).await?;
    let matched = super::require_password(state, headers, &client, &current.user, password).await?;
    Ok((current, client, matched))
}
