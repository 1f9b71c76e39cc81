//! Backup codes: 10 one-time codes `XXXXX-XXXXX`, stored encrypted as a JSON array.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::body::JsonBody;
use crate::current_session;
use crate::db::two_factor;
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::respond;
use crate::state::AppState;

pub fn new_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            format!(
                "{}-{}",
                crate::ids::random_string(5),
                crate::ids::random_string(5)
            )
        })
        .collect()
}

pub fn seal(state: &AppState, codes: &[String]) -> String {
    state
        .secrets()
        .encrypt(&serde_json::to_string(codes).expect("strings serialize"))
}

/// Removes `code` from `codes` if present (constant-time per comparison); true when it was there.
fn remove(codes: &mut Vec<String>, code: &str) -> bool {
    let code = code.trim();
    let position = codes
        .iter()
        .position(|c| bool::from(c.as_bytes().ct_eq(code.as_bytes())));
    match position {
        Some(i) => {
            codes.remove(i);
            true
        }
        None => false,
    }
}

/// Spends `code` from the enrolment `id`, as a compare-and-swap on the stored codes: read, remove,
/// write back only if nobody changed them meanwhile, else start over. A code is therefore spent
/// once, and spending two codes at once cannot bring either back. `false` when `code` is not
/// (or no longer) there.
pub async fn spend(
    state: &AppState,
    client: &crate::db::Client,
    id: &str,
    code: &str,
) -> ApiResult<bool> {
    loop {
        let Some(sealed) = two_factor::backup_codes(client, id).await? else {
            return Ok(false);
        };
        let mut codes = super::open_backup_codes(state, &sealed);
        if !remove(&mut codes, code) {
            return Ok(false);
        }
        let new = seal(state, &codes);
        if two_factor::swap_sealed(client, id, two_factor::Sealed::BackupCodes, &sealed, &new)
            .await?
        {
            return Ok(true);
        }
    }
}

/// `POST /two-factor/generate-backup-codes {password}` → `{"status":true,"backupCodes":[…]}`.
pub async fn generate(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let password = body.string("password");
    body.check()?;
    let current = current_session::require(&state, &headers).await?;
    if !current.user.two_factor_enabled {
        return Err(ApiError::bad_request(
            error_codes::TWO_FACTOR_NOT_ENABLED,
            "Two factor isn't enabled",
        ));
    }
    let mut client = state.db().await?;
    // Before the password is checked: the refusal is no guess at it.
    super::refuse_for_an_admin_without_it(&client, &current).await?;
    let matched =
        super::require_password(&state, &headers, &client, &current.user, password).await?;
    let enrolment = super::load_enrolment(&state, &client, &current.user.id).await?;
    let codes = new_codes();
    let tx = client.transaction().await?;
    // Written only while the session is live and the password the one checked, under a share
    // lock on the user's row: codes written after signing out everywhere (or a reset, a ban)
    // would be a second factor handed to a session that had ended.
    if !super::still_confirmed(&tx, &current, &matched).await? {
        return Err(ApiError::unauthorized());
    }
    two_factor::set_backup_codes(&tx, &enrolment.row.id, &seal(&state, &codes)).await?;
    tx.commit().await?;
    Ok(respond::ok_json(
        json!({"status": true, "backupCodes": codes}),
    ))
}
