//! Two-factor authentication (TOTP + backup codes), BetterAuth's `twoFactor` plugin flow:
//! `enable` → `verify-totp` (turns it on, rotates the session) → sign-in answers
//! `twoFactorRedirect` → `verify-totp` / `verify-backup-code` with the `two_factor` cookie.

mod backup_codes;
mod challenge;
mod enable;
mod verify;

pub use backup_codes::generate as generate_backup_codes;
pub use challenge::{start_challenge, trusted_device, MAX_ATTEMPTS};
pub use enable::{disable, enable, get_totp_uri};
pub use verify::{verify_backup_code, verify_totp, LOCK_AFTER};

use crate::crypto;
use crate::db::two_factor::{self, TwoFactorRow};
use crate::error::{ApiError, ApiResult};
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
        .ok_or_else(|| ApiError::bad_request("TOTP_NOT_ENABLED", "TOTP not enabled"))?;
    let key = crypto::decrypt(state.secret(), &row.secret)
        .ok_or_else(|| {
            ApiError::internal("twoFactor secret does not decrypt with the auth secret")
        })?
        .into_bytes();
    Ok(Enrolment { row, key })
}

/// The backup codes in their stored (sealed) form; none when they do not open.
pub(crate) fn open_backup_codes(state: &AppState, sealed: &str) -> Vec<String> {
    crypto::decrypt(state.secret(), sealed)
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// Password re-check required by enable/disable/get-totp-uri/generate-backup-codes.
pub(crate) async fn require_password(
    client: &crate::db::Client,
    user_id: &str,
    password: String,
) -> ApiResult<()> {
    if crate::routes::sign_in::check_password(client, user_id, password).await? {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "INVALID_PASSWORD",
            "Invalid password",
        ))
    }
}
