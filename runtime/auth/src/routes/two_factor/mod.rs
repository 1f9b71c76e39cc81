//! Two-factor authentication (TOTP + backup codes), BetterAuth's `twoFactor` plugin flow.

mod challenge;

pub use challenge::{start_challenge, trusted_device};
