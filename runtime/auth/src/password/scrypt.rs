//! BetterAuth's default password hash, verified so users migrated from a BetterAuth database can
//! sign in (and are then upgraded to argon2id).
//!
//! Format `<32 hex salt>:<128 hex key>`; scrypt N=16384 r=16 p=1 dkLen=64 over the NFKC-normalised
//! password. Quirk: the scrypt salt is the **hex string's ASCII bytes**, not the 16
//! bytes it encodes.

use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;

const LOG_N: u8 = 14; // N = 16384
const R: u32 = 16;
const P: u32 = 1;
const KEY_LEN: usize = 64;

/// A hash in BetterAuth's format that no password matches in practice, to check against when
/// there is none and the check must cost what a real one does.
pub const DUMMY: &str = concat!(
    "00000000000000000000000000000000:",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000"
);

pub fn looks_like_betterauth_hash(stored: &str) -> bool {
    match stored.split_once(':') {
        Some((salt, key)) => {
            salt.len() == 32
                && key.len() == 2 * KEY_LEN
                && salt
                    .bytes()
                    .chain(key.bytes())
                    .all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

fn derive(password: &str, salt: &str) -> Option<[u8; KEY_LEN]> {
    let normalized: String = password.nfkc().collect();
    let params = scrypt::Params::new(LOG_N, R, P, KEY_LEN).ok()?;
    let mut out = [0u8; KEY_LEN];
    scrypt::scrypt(normalized.as_bytes(), salt.as_bytes(), &params, &mut out).ok()?;
    Some(out)
}

pub fn verify(password: &str, stored: &str) -> bool {
    let Some((salt, key_hex)) = stored.split_once(':') else {
        return false;
    };
    let Ok(expected) = hex::decode(key_hex) else {
        return false;
    };
    match derive(password, salt) {
        Some(actual) => bool::from(actual.as_slice().ct_eq(expected.as_slice())),
        None => false,
    }
}

/// Produces a hash exactly as BetterAuth would for the given hex salt (tests only; new passwords
/// are always argon2id).
#[cfg(test)]
pub fn hash_like_betterauth(password: &str, salt_hex: &str) -> String {
    format!(
        "{salt_hex}:{}",
        hex::encode(derive(password, salt_hex).unwrap())
    )
}
