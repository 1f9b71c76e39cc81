//! Random per-run secrets: nothing the tests use as a password is fixed or committed.

use rand::distr::Alphanumeric;
use rand::Rng;

/// `len` random `[A-Za-z0-9]` characters (the alphabet of stackr's dev secrets).
pub fn random_secret(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
