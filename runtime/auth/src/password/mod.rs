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

/// The scheme of a stored hash.
#[derive(PartialEq, Eq)]
enum Scheme {
    Argon2id,
    BetterAuthScrypt,
    /// A format we do not know: nothing matches it.
    Unknown,
}

fn scheme(stored: &str) -> Scheme {
    if stored.starts_with("$argon2") {
        Scheme::Argon2id
    } else if scrypt::looks_like_betterauth_hash(stored) {
        Scheme::BetterAuthScrypt
    } else {
        Scheme::Unknown
    }
}

/// Verifies `password` against a stored hash in either supported format.
pub fn verify(password: &str, stored: &str) -> Verdict {
    match scheme(stored) {
        Scheme::Argon2id if argon2id::verify(password, stored) => Verdict::Match,
        Scheme::BetterAuthScrypt if scrypt::verify(password, stored) => Verdict::MatchNeedsUpgrade,
        _ => Verdict::Mismatch,
    }
}

/// Whether the database may hold BetterAuth scrypt hashes (a project migrated from BetterAuth):
/// found out at startup, and noted whenever a sign-in meets one, so a hash written behind the
/// service's back counts from then on. It is never unset while the process runs: the last
/// legacy hash upgraded, the next start finds none.
#[derive(Debug, Default)]
pub struct LegacyHashes(std::sync::atomic::AtomicBool);

impl LegacyHashes {
    pub fn may_be_stored(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Legacy hashes are stored.
    pub fn found(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// A password was checked against `stored`: legacy hashes are stored when it is one.
    pub fn note(&self, stored: &str) {
        if scheme(stored) == Scheme::BetterAuthScrypt {
            self.found();
        }
    }
}

/// After a password check that failed, burns the work of the checks it did not make, so that
/// every failure costs the same whatever the account: one argon2id check, and one scrypt check
/// too while BetterAuth hashes may be stored (`legacy`, see [`LegacyHashes`]): scrypt costs a
/// few times argon2id, and without it a wrong password for a migrated account would take longer
/// than for no account. `checked` is the stored hash the password was checked against, `None`
/// when there was none (no such user, no password, a locked account).
pub fn burn_what_the_check_skipped(password: &str, checked: Option<&str>, legacy: bool) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let checked = checked.map_or(Scheme::Unknown, scheme);
    if checked != Scheme::Argon2id {
        let stored =
            DUMMY.get_or_init(|| argon2id::hash("dummy-password-for-timing").unwrap_or_default());
        let _ = argon2id::verify(password, stored);
    }
    if legacy && checked != Scheme::BetterAuthScrypt {
        let _ = scrypt::verify(password, scrypt::DUMMY);
    }
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
