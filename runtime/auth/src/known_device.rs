//! Known devices: a browser that signed in to an account with its password gets a long-lived
//! cookie naming that account (by a digest of its email), and its password attempts on that
//! account draw on a budget of their own instead of the account's.
//!
//! Why: the account's budget (see [`crate::account_throttle`]) stops guessing from many
//! addresses, but anyone who knows the email address can use it up, and then the owner's right
//! password is refused too, for as long as the guesses go on. With this cookie the owner's own
//! browsers keep signing in. The cookie is signed (secret rotation included) and names one
//! account, so a cookie earned by signing in to an account of one's own opens no budget on
//! another. BetterAuth has no per-account lock, so it has no such cookie either; its clients
//! ignore it.

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::cookie;
use crate::state::AppState;

/// Browsers keep a cookie 400 days at most.
const LIFETIME_SECS: i64 = 400 * 24 * 3600;

/// The account a cookie names: a digest of its normalised email, not the email itself.
fn account_digest(email: &str) -> String {
    let digest = Sha256::digest(format!("stackr-known-device\0{email}").as_bytes());
    hex::encode(&digest[..16])
}

/// This browser's known-device id for `email` (normalised), when its cookie is genuine and names
/// that account.
pub fn id(state: &AppState, headers: &HeaderMap, email: &str) -> Option<String> {
    let value = cookie::find(headers, &state.cookies.known_device)
        .and_then(|wire| state.secrets().verify_cookie(wire))?;
    let (id, account) = value.split_once('!')?;
    (account == account_digest(email)).then(|| id.to_owned())
}

/// The key of the account throttle's budget that password attempts on `email` from this browser
/// draw on: its own when it is a known device of the account, else the account's.
pub fn budget(state: &AppState, headers: &HeaderMap, email: &str) -> String {
    match id(state, headers, email) {
        Some(id) => format!("{email}\0known-device\0{id}"),
        None => email.to_owned(),
    }
}

/// The `Set-Cookie` that makes this browser a known device of `email` (normalised), unless it
/// already is one.
pub fn cookie_after_sign_in(state: &AppState, headers: &HeaderMap, email: &str) -> Option<String> {
    if id(state, headers, email).is_some() {
        return None;
    }
    let value = format!(
        "{}!{}",
        crate::ids::random_string(24),
        account_digest(email)
    );
    Some(state.cookies.set_cookie(
        &state.cookies.known_device,
        &cookie::sign_for_cookie(state.secret(), &value),
        Some(LIFETIME_SECS),
    ))
}
