//! Random identifiers and tokens.
//!
//! BetterAuth's `generateId(32)`: 32 characters from `[A-Za-z0-9]`. `rand::rng()` is a
//! cryptographically secure generator (ChaCha12, seeded and periodically reseeded from the OS), so
//! session tokens, ids and reset tokens cannot be predicted from earlier ones.

use rand::distr::{Alphanumeric, SampleString};

/// `len` random characters from `[A-Za-z0-9]` drawn from a CSPRNG.
pub fn random_string(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// A row id (user, session, account, verification, twoFactor).
pub fn new_id() -> String {
    random_string(32)
}

/// A session token (stored raw in `session.token`, signed in the cookie).
pub fn new_session_token() -> String {
    random_string(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_betterauth_shape_and_differ() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
