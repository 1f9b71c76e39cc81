//! RFC 6238 TOTP as BetterAuth's twoFactor plugin uses it: HMAC-SHA1, 6 digits, 30 s steps,
//! ±1 step accepted. The key is the UTF-8 bytes of a 32-character random string; authenticator
//! apps get it base32-encoded (no padding) in the `otpauth://` URI.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

pub const DIGITS: u32 = 6;
pub const PERIOD: u64 = 30;

/// HOTP value for one counter (RFC 4226 dynamic truncation).
pub fn hotp(key: &[u8], counter: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!(
        "{:0width$}",
        bin % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

/// The code for a Unix time.
pub fn code_at(key: &[u8], unix_secs: u64) -> String {
    hotp(key, unix_secs / PERIOD)
}

/// The time step `code` belongs to, among the current step and one either side (clock skew);
/// every candidate is compared, in constant time. Callers must refuse a step that was already
/// accepted (see `db::two_factor::accept_totp_step`).
pub fn matching_step(key: &[u8], code: &str, unix_secs: u64) -> Option<u64> {
    let step = unix_secs / PERIOD;
    let mut matched = None;
    for s in [step.saturating_sub(1), step, step.saturating_add(1)] {
        if bool::from(hotp(key, s).as_bytes().ct_eq(code.trim().as_bytes())) {
            matched = Some(s);
        }
    }
    matched
}

pub fn base32(key: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(key)
}

/// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…&digits=6&period=30`.
pub fn uri(issuer: &str, account: &str, key: &[u8]) -> String {
    let issuer_enc = crate::cookie::encode_uri_component(issuer);
    format!(
        "otpauth://totp/{issuer_enc}:{}?secret={}&issuer={issuer_enc}&digits={DIGITS}&period={PERIOD}",
        crate::cookie::encode_uri_component(account),
        base32(key)
    )
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors_truncated_to_six_digits() {
        let key = b"12345678901234567890";
        // RFC 6238 appendix B (8 digits): 94287082, 07081804, 14050471.
        assert_eq!(code_at(key, 59), "287082");
        assert_eq!(code_at(key, 1111111109), "081804");
        assert_eq!(code_at(key, 1111111111), "050471");
    }

    #[test]
    fn window_is_one_step() {
        let key = b"abcdefghijabcdefghijabcdefghijab";
        let t = 1_800_000_000;
        let step = t / PERIOD;
        assert_eq!(matching_step(key, &code_at(key, t - 30), t), Some(step - 1));
        assert_eq!(matching_step(key, &code_at(key, t + 30), t), Some(step + 1));
        assert_eq!(matching_step(key, &code_at(key, t - 90), t), None);
    }
}
