//! Two-factor authentication (TOTP + backup codes), BetterAuth's `twoFactor` plugin flow:
//! `enable` → `verify-totp` (turns it on, rotates the session) → sign-in answers
//! `twoFactorRedirect` → `verify-totp` / `verify-backup-code` with the `two_factor` cookie, or
//! `send-otp` → `verify-otp` with a code sent by mail (see the `otp` module).

mod backup_codes;
mod challenge;
mod enable;
mod otp;
mod verify;

pub use backup_codes::generate as generate_backup_codes;
pub use challenge::{forget_pending, start_challenge, trusted_device, MAX_ATTEMPTS};
pub use enable::{disable, enable, get_totp_uri};
pub use otp::{send_otp, verify_otp};
pub use verify::{verify_backup_code, verify_totp, LOCK_AFTER};

use crate::db::two_factor::{self, Sealed, TwoFactorRow};
use crate::db::users;
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::state::AppState;

/// The user's enrolment with its TOTP key decrypted.
pub(crate) struct Enrolment {
    pub row: TwoFactorRow,
    pub key: Vec<u8>,
}

pub(crate) async fn load_enrolment(
    state: &AppState,
    client: &crate::db::Client,
    user_id: &str,
) -> ApiResult<Enrolment> {
    let row = two_factor::by_user(client, user_id)
        .await?
        .ok_or_else(not_enabled)?;
    let opened = state.secrets().decrypt(&row.secret).ok_or_else(|| {
        ApiError::internal(
            "a twoFactor secret opens with none of the auth secrets (was the secret that sealed it removed from AUTH_SECRETS_FILE?)",
        )
    })?;
    // Re-seal what an older secret sealed with the newest one, so the older one can be retired.
    if opened.stale {
        let resealed = state.secrets().encrypt(&opened.plaintext);
        two_factor::swap_sealed(client, &row.id, Sealed::Secret, &row.secret, &resealed).await?;
    }
    if let Some(codes) = state.secrets().decrypt(&row.backup_codes) {
        if codes.stale {
            let resealed = state.secrets().encrypt(&codes.plaintext);
            let (id, old) = (&row.id, &row.backup_codes);
            two_factor::swap_sealed(client, id, Sealed::BackupCodes, old, &resealed).await?;
        }
    }
    Ok(Enrolment {
        row,
        key: opened.plaintext.into_bytes(),
    })
}

/// The answer when the user has no enrolment (or it went while the request ran).
pub(crate) fn not_enabled() -> ApiError {
    ApiError::bad_request(error_codes::TOTP_NOT_ENABLED, "TOTP not enabled")
}

/// The backup codes from their stored (sealed) form; none when they do not open.
pub(crate) fn open_backup_codes(state: &AppState, sealed: &str) -> Vec<String> {
    state
        .secrets()
        .decrypt(sealed)
        .and_then(|opened| serde_json::from_str(&opened.plaintext).ok())
        .unwrap_or_default()
}

/// Turns two-factor off, in `tx`, which holds the user's row: the enrolment goes, and every
/// trusted device is forgotten, so turning it on again asks every browser again.
pub(crate) async fn turn_off(
    tx: &impl deadpool_postgres::GenericClient,
    user_id: &str,
) -> ApiResult<()> {
    two_factor::delete_for_user(tx, user_id).await?;
    turned_off(tx, user_id).await
}

/// A password was just set through a reset link, in `tx`, which holds the user's row: the owner
/// of the mailbox chose it. A second factor enrolled while the address was not verified may be a
/// stranger's, who signed up first with that address, and would lock the owner out: it goes. One
/// enrolled once the address was verified stays, to guard the account against whoever takes the
/// mailbox.
pub(crate) async fn drop_if_enrolled_unverified(
    tx: &impl deadpool_postgres::GenericClient,
    user_id: &str,
) -> ApiResult<()> {
    if two_factor::delete_enrolled_unverified(tx, user_id).await? {
        turned_off(tx, user_id).await?;
    }
    Ok(())
}

/// What goes with an enrolment removed by [`turn_off`] or [`drop_if_enrolled_unverified`].
async fn turned_off(tx: &impl deadpool_postgres::GenericClient, user_id: &str) -> ApiResult<()> {
    users::set_two_factor_enabled(tx, user_id, false).await?;
    challenge::forget_trusted_devices(tx, user_id).await
}

/// Whether a change [`require_password`] confirmed may still be written, read in `tx` under a
/// share lock on the user's row: the session it was asked with is live (and held until `tx`
/// ends) and the stored password is still the one `matched`.
pub(crate) async fn still_confirmed(
    tx: &impl deadpool_postgres::GenericClient,
    current: &crate::current_session::CurrentSession,
    matched: &str,
) -> ApiResult<bool> {
    let still = [
        crate::current_session::StillSo::SessionLive(&current.session.token),
        crate::current_session::StillSo::PasswordHash(matched),
    ];
    crate::current_session::still_so(tx, &current.user.id, &still).await
}

/// Refuses (`403 SECOND_FACTOR_REQUIRED`, as the admin routes do) an admin's session that may
/// not administer ([`crate::current_session::CurrentSession::may_administer`]: one from a linked
/// provider's sign-in while two-factor is on) the routes that hand out or drop the second factor
/// (`get-totp-uri`, `generate-backup-codes`, `disable`): with the password, whoever held the
/// admin's provider account took the authenticator's key or new backup codes, or turned it off,
/// and signed in to the admin routes with them. BetterAuth asks only for the password; other
/// users are answered as before (their provider's session is their account already).
pub(crate) async fn refuse_for_an_admin_without_it(
    client: &crate::db::Client,
    current: &crate::current_session::CurrentSession,
) -> ApiResult<()> {
    if current.is_admins_own() && !current.may_administer(client).await? {
        return Err(ApiError::forbidden(
            error_codes::SECOND_FACTOR_REQUIRED,
            "Sign in with your second factor to manage it",
        ));
    }
    Ok(())
}

/// Password re-check required by enable/disable/get-totp-uri/generate-backup-codes.
pub(crate) async fn require_password(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    client: &crate::db::Client,
    user: &crate::db::models::User,
    password: String,
) -> ApiResult<String> {
    crate::routes::sign_in::check_password(state, headers, client, user, password)
        .await?
        .ok_or_else(|| ApiError::bad_request(error_codes::INVALID_PASSWORD, "Invalid password"))
}
