//! `POST /api/auth/change-email {newEmail, callbackURL?}`: mails a verification link to the new
//! address (BetterAuth's `user.changeEmail` without `updateEmailWithoutVerification` or a
//! confirmation by the old address); the address changes only when that link is opened
//! (`verify-email`, see [`super::email_verification`]). An address another user holds gets the
//! same answer and no mail, so the endpoint does not reveal which addresses have accounts.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map};

use crate::body::JsonBody;
use crate::current_session;
use crate::db::users;
use crate::error::{ApiError, ApiResult};
use crate::mail::OutgoingMail;
use crate::respond;
use crate::state::AppState;

/// The `requestType` of a change-email verification link.
pub const VERIFICATION_REQUEST: &str = "change-email-verification";

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let current = current_session::require(&state, &headers).await?;
    current.not_impersonated()?;
    let new_email = body.email("newEmail");
    let callback_url = body.opt_string("callbackURL");
    body.check()?;
    super::require_trusted_callback(&state, callback_url.as_deref())?;
    if new_email == users::normalize_email(&current.user.email) {
        return Err(ApiError::message_only(
            StatusCode::BAD_REQUEST,
            "Email is the same",
        ));
    }
    if !state.mailer.is_enabled() {
        return Err(ApiError::message_only(
            StatusCode::BAD_REQUEST,
            "Verification email isn't enabled",
        ));
    }
    let client = state.db().await?;
    if users::by_email(&client, &new_email).await?.is_none() {
        let mut claims = Map::new();
        claims.insert(
            "email".into(),
            users::normalize_email(&current.user.email).into(),
        );
        claims.insert("updateTo".into(), new_email.clone().into());
        claims.insert("requestType".into(), VERIFICATION_REQUEST.into());
        claims.insert("userId".into(), current.user.id.clone().into());
        let url =
            super::email_verification::verification_link(&state, claims, callback_url.as_deref());
        state.mailer.send_in_background(OutgoingMail {
            to: new_email,
            subject: "Confirm your new email address".into(),
            text: format!(
                "Hello {},\n\nClick the link to make this your account's email address:\n{url}\n\nIf you did not ask for this, ignore this mail.\n",
                current.user.name
            ),
        });
    }
    Ok(respond::ok_json(json!({"status": true})))
}
