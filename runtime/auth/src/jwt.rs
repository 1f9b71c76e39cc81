//! Minimal HS256 JWTs for email-verification links, as BetterAuth mints them (payload
//! `{"email","userId","iat","exp"}`, signed with the auth secret). Stateless: no DB row.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub fn encode(secret: &[u8], claims: &Map<String, Value>) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("JSON map serializes"));
    let signing_input = format!("{header}.{payload}");
    let mut mac = HmacSha256::new_from_slice(secret).expect("any key length");
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[derive(Debug, PartialEq, Eq)]
pub enum JwtError {
    Invalid,
    Expired,
}

/// Verifies signature (constant time, via `verify_slice`), algorithm and `exp`.
pub fn decode(secret: &[u8], token: &str, now_secs: i64) -> Result<Map<String, Value>, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Invalid);
    };
    let header: Value = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Invalid)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(JwtError::Invalid);
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Invalid)?;
    let mut mac = HmacSha256::new_from_slice(secret).expect("any key length");
    mac.update(format!("{h}.{p}").as_bytes());
    mac.verify_slice(&sig).map_err(|_| JwtError::Invalid)?;
    let claims: Map<String, Value> = URL_SAFE_NO_PAD
        .decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Invalid)?;
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now_secs => Ok(claims),
        Some(_) => Err(JwtError::Expired),
        None => Err(JwtError::Invalid),
    }
}

/// `decode` with the first of `secrets` whose signature matches (rotated secrets keep links valid).
pub fn decode_any<'a>(
    secrets: impl Iterator<Item = &'a [u8]>,
    token: &str,
    now_secs: i64,
) -> Result<Map<String, Value>, JwtError> {
    let mut result = Err(JwtError::Invalid);
    for secret in secrets {
        result = decode(secret, token, now_secs);
        if result != Err(JwtError::Invalid) {
            break;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_tamper_and_expiry() {
        let mut claims = Map::new();
        claims.insert("email".into(), "a@b.co".into());
        claims.insert("exp".into(), 2000.into());
        let t = encode(b"secret-secret-secret-secret-secret", &claims);
        assert_eq!(
            decode(b"secret-secret-secret-secret-secret", &t, 1000).unwrap()["email"],
            "a@b.co"
        );
        assert_eq!(
            decode(b"secret-secret-secret-secret-secret", &t, 3000),
            Err(JwtError::Expired)
        );
        assert_eq!(
            decode(b"other-secret-other-secret-other-xx", &t, 1000),
            Err(JwtError::Invalid)
        );
    }
}
