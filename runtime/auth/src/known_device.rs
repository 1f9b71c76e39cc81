//! Known devices: a browser that signed in to an account with its password gets a long-lived
//! cookie naming that account, and its password attempts on that
//! account draw on a budget of their own instead of the account's.
//!
//! Why: the account's budget (see [`crate::account_throttle`]) stops guessing from many
//! addresses, but anyone who knows the email address can use it up, and then the owner's right
//! password is refused too, for as long as the guesses go on. With this cookie the owner's own
//! browsers keep signing in. The cookie is signed (secret rotation included) and names one
//! account and its current password, so a cookie earned by signing in to an account of one's own
//! opens no budget on another, and one earned with a password that has since been reset opens
//! none at all. One browser is the known device of one account at a time (the last it signed in
//! to). BetterAuth has no per-account lock, so it has no such cookie either; its clients ignore
//! it.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::cookie;
use crate::state::AppState;

/// Browsers keep a cookie 400 days at most.
const LIFETIME_SECS: i64 = 400 * 24 * 3600;

/// Names the account and its password: a MAC (keyed with the service secret, so a cookie reveals
/// nothing about the account) of the user's id and the stored password hash. A new password (a
/// reset, a change) makes every earlier cookie worthless, those earned with a leaked password
/// included; a new email address does not (the id stays).
fn account_mac(secret: &[u8], user_id: &str, password_hash: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(b"stackr-known-device\0");
    mac.update(user_id.as_bytes());
    mac.update(b"\0");
    mac.update(password_hash.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// This browser's known-device id for the user `user_id` whose stored password hash is
/// `password_hash`, when its cookie is genuine and names that account and password.
fn id(state: &AppState, headers: &HeaderMap, user_id: &str, password_hash: &str) -> Option<String> {
    let value = cookie::find(headers, &state.cookies.known_device)
        .and_then(|wire| state.secrets().verify_cookie(wire))?;
    let (id, account) = value.split_once('!')?;
    let genuine = state.secrets().all().any(|secret| {
        bool::from(
            account_mac(secret, user_id, password_hash)
                .as_bytes()
                .ct_eq(account.as_bytes()),
        )
    });
    genuine.then(|| id.to_owned())
}

/// The key of the account throttle's budget that password attempts on `email` (normalised) from
/// this browser draw on: its own when it is a known device of the account and its current
/// password (`credential`: the user's id and stored password hash, `None` for an unknown account
/// or one without a password), else the account's.
pub fn budget(
    state: &AppState,
    headers: &HeaderMap,
    email: &str,
    credential: Option<(&str, &str)>,
) -> String {
    match credential.and_then(|(user_id, hash)| id(state, headers, user_id, hash)) {
        Some(id) => format!("{email}\0known-device\0{id}"),
        None => email.to_owned(),
    }
}

/// The `Set-Cookie` that makes this browser a known device of the user `user_id` with the password
/// whose stored hash is `password_hash`, unless it already is one.
pub fn cookie_for_this_browser(
    state: &AppState,
    headers: &HeaderMap,
    user_id: &str,
    password_hash: &str,
) -> Option<String> {
    if id(state, headers, user_id, password_hash).is_some() {
        return None;
    }
    let value = format!(
        "{}!{}",
        crate::ids::random_string(24),
        account_mac(state.secret(), user_id, password_hash)
    );
    Some(state.cookies.set_cookie(
        &state.cookies.known_device,
        &cookie::sign_for_cookie(state.secret(), &value),
        Some(LIFETIME_SECS),
    ))
}
