//! Password hashing: argon2id for everything new, BetterAuth's scrypt accepted for migrated users.
//!
//! Hashing is deliberately slow, so callers run these functions on the blocking thread pool
//! (`tokio::task::spawn_blocking`), never on the async executor.

mod argon2id;
mod scrypt;

use crate::error_codes;

/// BetterAuth's default length rules (`minPasswordLength` 8, `maxPasswordLength` 128).
pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Wrong password, or a hash format we do not know.
    Mismatch,
    /// Correct, and the stored hash is already argon2id.
    Match,
    /// Correct, but stored in a legacy format (BetterAuth scrypt): re-hash with argon2id now.
    MatchNeedsUpgrade,
}

impl Verdict {
    pub fn is_match(self) -> bool {
        self != Verdict::Mismatch
    }
}

/// Hashes a new password with argon2id (PHC string).
pub fn hash(password: &str) -> anyhow::Result<String> {
    argon2id::hash(password)
}

/// Verifies `password` against a stored hash in either supported format.
pub fn verify(password: &str, stored: &str) -> Verdict {
    if stored.starts_with("$argon2") {
        if argon2id::verify(password, stored) {
            Verdict::Match
        } else {
            Verdict::Mismatch
        }
    } else if scrypt::looks_like_betterauth_hash(stored) {
        if scrypt::verify(password, stored) {
            Verdict::MatchNeedsUpgrade
        } else {
            Verdict::Mismatch
        }
    } else {
        Verdict::Mismatch
    }
}

/// Burns the same CPU as a real verification, so "unknown email" and "wrong password" take the
/// same time (no user enumeration through timing).
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored =
        DUMMY.get_or_init(|| argon2id::hash("dummy-password-for-timing").unwrap_or_default());
    let _ = argon2id::verify(password, stored);
}

/// Length rule errors, BetterAuth codes.
pub fn check_length(password: &str) -> Result<(), crate::error::ApiError> {
    let len = password.chars().count();
    if len < MIN_LENGTH {
        Err(crate::error::ApiError::bad_request(
            error_codes::PASSWORD_TOO_SHORT,
            "Password too short",
        ))
    } else if len > MAX_LENGTH {
        Err(crate::error::ApiError::bad_request(
            error_codes::PASSWORD_TOO_LONG,
            "Password too long",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
pub(crate) use scrypt::hash_like_betterauth as scrypt_hash_for_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_roundtrip() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert_eq!(verify("correct horse", &h), Verdict::Match);
        assert_eq!(verify("wrong horse", &h), Verdict::Mismatch);
    }

    #[test]
    fn scrypt_hashes_verify_and_ask_for_upgrade() {
        let h = scrypt_hash_for_tests("p4ssw0rd!", "3ca536e58b6e3a490269601b636cc95a");
        assert_eq!(verify("p4ssw0rd!", &h), Verdict::MatchNeedsUpgrade);
        assert_eq!(verify("p4ssw0rd?", &h), Verdict::Mismatch);
        assert_eq!(verify("x", "garbage"), Verdict::Mismatch);
    }
}
