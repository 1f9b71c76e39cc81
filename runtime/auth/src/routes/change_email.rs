//! `POST /api/auth/change-email {newEmail, callbackURL?}`: mails a verification link to the new
//! address; the address changes only when that link is opened (`verify-email`, see
//! [`super::email_verification`]). When the current address is verified, the current address
//! must agree first (BetterAuth's `user.changeEmail` with `sendChangeEmailConfirmation`): a
//! confirmation link goes there, and opening it mails the verification link to the new address.
//! An address another user holds gets the same answer and no mail, so the endpoint does not
//! reveal which addresses have accounts; nor does the answer's time: which it is is found out
//! after the answer.
//!
//! The link is bound to the account's credentials as they were when it was asked for (a claim
//! [`BINDING_CLAIM`] of stackr's own, which BetterAuth ignores): a password reset or change,
//! ending all (or all other) sessions, or any change of the address (so a link moves the account
//! once, and not again when it is back at the link's address) makes every pending link
//! worthless. Asking needs only a session, as in BetterAuth, so whoever holds a stolen session
//! cookie can ask for the account to move to an address of theirs; without the binding that link
//! would outlive the owner's recovery for the rest of its hour, and the account would then be
//! theirs (a reset mailed to the new address). The link is also bound to the session that asked
//! for it ([`SESSION_CLAIM`]), which must still be live when it is opened: an owner who revokes
//! only the stranger's session, or signs a lost device out, ends what it asked for too (unlike
//! BetterAuth, whose link lives on; a link whose device signed out is asked for again).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::body::JsonBody;
use crate::current_session;
use crate::db::credential_epoch::{self, Credentials};
use crate::db::models::User;
use crate::db::users;
use crate::error::{ApiError, ApiResult};
use crate::mail::OutgoingMail;
use crate::mail_budget;
use crate::respond;
use crate::state::AppState;

/// The `requestType` of a change-email verification link (mailed to the new address).
pub const VERIFICATION_REQUEST: &str = "change-email-verification";

/// The `requestType` of a change-email confirmation link (mailed to the current address).
pub const CONFIRMATION_REQUEST: &str = "change-email-confirmation";

/// The claim of a change-email link that binds it to the account's [`Credentials`].
pub const BINDING_CLAIM: &str = "stackrCredentials";

/// The claim of a change-email link naming the session that asked for it (its id, which is no
/// credential: the token is).
pub const SESSION_CLAIM: &str = "stackrSession";

/// The claim of a change-email link saying whether the account's address was verified when the
/// link was made: a link mailed straight to the new address while it was not moves the account
/// no more once it is (that address's mailbox never agreed).
pub const ADDRESS_VERIFIED_CLAIM: &str = "stackrAddressVerified";

/// A MAC of the user's id and [`Credentials`] (stored password hash, credential epoch, count of
/// address changes), keyed with the service secret: whoever reads the new mailbox holds the link,
/// so it must reveal nothing about the hash, and only the service can make one that matches.
fn binding_mac(secret: &[u8], user_id: &str, credentials: &Credentials) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(b"stackr-change-email\0");
    mac.update(user_id.as_bytes());
    credentials.update_mac(&mut mac);
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// The [`BINDING_CLAIM`] a link for `user_id` carries when asked for now.
pub async fn binding(
    state: &AppState,
    client: &impl deadpool_postgres::GenericClient,
    user_id: &str,
) -> Result<String, tokio_postgres::Error> {
    let credentials = credential_epoch::credentials(client, user_id).await?;
    Ok(binding_mac(state.secret(), user_id, &credentials))
}

/// Whether a link's [`BINDING_CLAIM`] `claimed` binds it to `credentials`, the ones `user_id`
/// has now, by any of the service's secrets (a link asked for before a rotation stays good).
pub fn binding_holds(
    state: &AppState,
    claimed: &str,
    user_id: &str,
    credentials: &Credentials,
) -> bool {
    state.secrets().all().any(|secret| {
        bool::from(
            binding_mac(secret, user_id, credentials)
                .as_bytes()
                .ct_eq(claimed.as_bytes()),
        )
    })
}

/// The claims of a change-email link of type `request` for moving `user` to `new_email`, asked
/// for by the session `asked_by`, bound (`binding`, see [`binding`]) to the account's credentials
/// as they were when it was asked for.
fn link_claims(
    user: &User,
    new_email: &str,
    asked_by: &str,
    request: &str,
    binding: String,
) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("email".into(), users::normalize_email(&user.email).into());
    claims.insert("updateTo".into(), new_email.into());
    claims.insert("requestType".into(), request.into());
    claims.insert("userId".into(), user.id.clone().into());
    claims.insert(SESSION_CLAIM.into(), asked_by.into());
    claims.insert(ADDRESS_VERIFIED_CLAIM.into(), user.email_verified.into());
    claims.insert(BINDING_CLAIM.into(), binding.into());
    claims
}

/// Mails the verification link `url` to the new address.
fn send_verification(state: &AppState, new_email: &str, url: &str) {
    state.mailer.send_in_background(OutgoingMail {
        to: new_email.to_owned(),
        subject: "Confirm your new email address".into(),
        // No name: anyone may type in an address here.
        text: format!(
            "{}\n\nClick the link to make this your account's email address:\n{url}\n\nIf you did not ask for this, ignore this mail.\n",
            crate::mail::greeting(None)
        ),
    });
}

/// The current address agreed (its confirmation link, checked like a verification link, was
/// opened): after the answer, mails the verification link to `new_email` unless another account
/// holds it by now, or the address's budget of change-email mails is used up: the confirmation
/// link stays good for its whole life, and each opening would mail the new address again. Whether
/// it does is found out after the answer, as when the change is asked for: the holder of the
/// account opens the link, and an address without an account (its budget drawn on, a link made)
/// would take longer. The verification link is bound to `binding`, the credentials as they were
/// when the confirmation link was opened (read before the answer). Refused as
/// [`crate::after_the_answer::AfterTheAnswer::run`] refuses.
pub fn confirmed(
    state: &AppState,
    user: User,
    new_email: String,
    asked_by: String,
    callback_url: Option<String>,
    binding: String,
) -> ApiResult<()> {
    let work_state = state.clone();
    after_the_answer(state, async move {
        let state = work_state;
        let client = state.db().await?;
        if users::by_email(&client, &new_email).await?.is_none()
            && mail_budget::take(&client, mail_budget::Kind::ChangeEmail, &new_email).await?
        {
            let claims = link_claims(&user, &new_email, &asked_by, VERIFICATION_REQUEST, binding);
            let url = super::email_verification::verification_link(
                &state,
                claims,
                callback_url.as_deref(),
            );
            send_verification(&state, &new_email, &url);
        }
        Ok(())
    })
}

/// Starts `work`, what a change-email request or the opening of its confirmation link does once
/// answered, a failure logged: the answer is the same whatever happens there. Refused (`429`,
/// the same for every address) while as much such work runs as may at once
/// ([`crate::after_the_answer`]).
fn after_the_answer(
    state: &AppState,
    work: impl std::future::Future<Output = ApiResult<()>> + Send + 'static,
) -> ApiResult<()> {
    state.after_the_answer.run("change-email", work)
}

/// Everything a change of the user's address ends, in the transaction that makes it: the
/// pending change-email links (the count of changes they are bound to moves on), and what was
/// mailed to the old address, the same things a new password ends: the reset links (the old
/// mailbox may be one the owner gave up, or one someone else reads now), and the sign-ins waiting
/// for their second factor, whose one-time code may have gone there. The second factor stays
/// through a reset mailed to the new address (`two_factor::keep_through_resets`): it is what
/// stands between whoever reads that mailbox and the account. The password and provider
/// identities were set up before the new address was proved, by whoever held the account: until
/// a password is set through a reset link, no provider identity is linked to the account by the
/// new address (`credential_epoch::way_in_unproved`), and that reset removes the provider
/// identities held then. The new address's owner follows a link that says only to make it the
/// account's address; once they had, their provider's sign-in took them, unaware, into an
/// account whose password, sessions and provider identities were the holder's.
pub async fn address_moved(
    client: &impl deadpool_postgres::GenericClient,
    user_id: &str,
) -> ApiResult<()> {
    credential_epoch::address_moved(client, user_id).await?;
    credential_epoch::password_chosen_unproved(client, user_id).await?;
    crate::db::two_factor::keep_through_resets(client, user_id).await?;
    super::password_reset::forget_what_the_old_password_started(client, user_id).await
}

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
    // Bound to the credentials as they are when asked for: a reset or change of the password
    // right after the answer must find the link already bound to the old ones.
    let binding = binding(&state, &state.db().await?, &current.user.id).await?;
    // Whether the new address has an account is found out after the answer: an address without
    // one gets a budget drawn on and a link made and mailed, which would take longer.
    let work = ask_for_the_change(state.clone(), current, new_email, callback_url, binding);
    after_the_answer(&state, work)?;
    Ok(respond::ok_json(json!({"status": true})))
}

/// What `change-email` does after its answer: unless another account holds `new_email`, or a
/// mail budget is used up, mails the confirmation link to `current`'s address when it is
/// verified, else the verification link to `new_email`.
async fn ask_for_the_change(
    state: AppState,
    current: current_session::CurrentSession,
    new_email: String,
    callback_url: Option<String>,
    binding: String,
) -> ApiResult<()> {
    let client = state.db().await?;
    let confirm_first = current.user.email_verified;
    // The mail goes to the current address first when it is verified, else to the new one.
    let recipient = if confirm_first {
        &current.user.email
    } else {
        &new_email
    };
    // A mail to an address the account names draws on the account's budget too.
    if users::by_email(&client, &new_email).await?.is_none()
        && (confirm_first || mail_budget::take_for_account(&client, &current.user.id).await?)
        && mail_budget::take(&client, mail_budget::Kind::ChangeEmail, recipient).await?
    {
        let request = if confirm_first {
            CONFIRMATION_REQUEST
        } else {
            VERIFICATION_REQUEST
        };
        let claims = link_claims(
            &current.user,
            &new_email,
            &current.session.id,
            request,
            binding,
        );
        let url =
            super::email_verification::verification_link(&state, claims, callback_url.as_deref());
        if confirm_first {
            state.mailer.send_in_background(OutgoingMail {
                to: current.user.email.clone(),
                subject: "Confirm the change of your email address".into(),
                text: format!(
                    "{}\n\nSomeone signed in to your account asked to make {new_email} its email address. If that was you, click the link to agree; a link to verify the new address is then sent there:\n{url}\n\nIf it was not you, do not click: sign out all sessions and change your password.\n",
                    crate::mail::greeting_to_holder(&current.user)
                ),
            });
        } else {
            send_verification(&state, &new_email, &url);
        }
    }
    Ok(())
}
