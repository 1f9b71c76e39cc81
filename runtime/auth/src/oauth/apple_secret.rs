//! Apple's client secret: not a fixed string but a JWT the app signs with the private key Apple
//! issued (ES256, PKCS#8 PEM), naming the team (`iss`), the key (`kid`), the Services ID
//! (`sub`) and Apple (`aud`). Apple accepts such a secret for up to six months; this service
//! signs a fresh one, valid for a few minutes, for each token request, so no long-lived secret
//! exists anywhere but the key file.

use anyhow::{anyhow, Context};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::config::Secret;

const LIFETIME_SECS: i64 = 300;

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: i64,
    exp: i64,
    aud: &'a str,
    sub: &'a str,
}

fn encoding_key(private_key: &Secret) -> anyhow::Result<EncodingKey> {
    EncodingKey::from_ec_pem(private_key.expose())
        .map_err(|_| anyhow!("is not an EC private key in PKCS#8 PEM (Apple's .p8 file)"))
}

/// Refuses, at start-up, a key that could never sign.
pub fn check_key(private_key: &Secret) -> anyhow::Result<()> {
    encoding_key(private_key).map(|_| ())
}

/// The client secret for one token request to `audience` (Apple's issuer).
pub fn sign(
    team_id: &str,
    key_id: &str,
    private_key: &Secret,
    client_id: &str,
    audience: &str,
) -> anyhow::Result<String> {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key_id.to_owned());
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        iss: team_id,
        iat: now,
        exp: now + LIFETIME_SECS,
        aud: audience,
        sub: client_id,
    };
    jsonwebtoken::encode(&header, &claims, &encoding_key(private_key)?)
        .context("signing Apple's client secret")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    /// A P-256 key made for the tests only (also the client key of `tests/it/social_apple.rs`).
    const KEY: &str = include_str!("../../tests/fixtures/apple/client-key.p8");
    const PUBLIC: &str = include_str!("../../tests/fixtures/apple/client-key.pub.pem");

    #[test]
    fn signs_a_secret_apple_can_verify() {
        let key = Secret::new(KEY);
        let jwt = sign(
            "TEAM123456",
            "KEY1234567",
            &key,
            "com.example.web",
            "https://appleid.apple.com",
        )
        .unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some("KEY1234567"));
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&["https://appleid.apple.com"]);
        validation.set_issuer(&["TEAM123456"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(
            &jwt,
            &DecodingKey::from_ec_pem(PUBLIC.as_bytes()).unwrap(),
            &validation,
        )
        .unwrap()
        .claims;
        assert_eq!(claims["sub"], "com.example.web");
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert!((1..=LIFETIME_SECS).contains(&lifetime), "{lifetime}");
    }

    #[test]
    fn refuses_a_key_that_is_not_an_ec_key() {
        assert!(check_key(&Secret::new("not a key")).is_err());
        assert!(check_key(&Secret::new(PUBLIC)).is_err());
        assert!(check_key(&Secret::new(KEY)).is_ok());
    }
}
