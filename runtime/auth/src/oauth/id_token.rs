//! ID-token validation (OpenID Connect Core §3.1.3.7): signature by a key of the provider's set,
//! with an algorithm the provider announces; `iss`, `aud` (and `azp` when there are several
//! audiences), `exp`, `iat` and the `nonce` this browser's flow sent (or, for the ID token a
//! refresh answers, the account's subject). Errors say which check failed, never the token.

use anyhow::{anyhow, bail};
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Map, Value};

use super::discovery::Provider;

/// Clock difference tolerated between the provider and this service (BetterAuth's 30 s).
const LEEWAY_SECS: u64 = 30;

pub async fn verify(
    provider: &Provider,
    token: &str,
    expected_nonce: &str,
) -> anyhow::Result<Map<String, Value>> {
    let claims = verify_signed_claims(provider, token).await?;
    if claims.get("nonce").and_then(Value::as_str) != Some(expected_nonce) {
        bail!("ID token nonce does not match this sign-in");
    }
    Ok(claims)
}

/// An ID token a refresh answered (OpenID Connect Core §12.2): checked as at sign-in, and about
/// the account's own subject. It carries no nonce of a flow: the refresh request that got it
/// was this service's own, authenticated with the client secret.
pub async fn verify_refreshed(
    provider: &Provider,
    token: &str,
    subject: &str,
) -> anyhow::Result<Map<String, Value>> {
    let claims = verify_signed_claims(provider, token).await?;
    if claims.get("sub").and_then(Value::as_str) != Some(subject) {
        bail!("the refreshed ID token describes another subject than the account");
    }
    Ok(claims)
}

/// Every check but the nonce.
async fn verify_signed_claims(
    provider: &Provider,
    token: &str,
) -> anyhow::Result<Map<String, Value>> {
    let discovered = provider.discovered().await?;
    if discovered.issuers.is_empty() {
        bail!("the provider issues no ID tokens");
    }
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| anyhow!("unreadable ID token header: {e}"))?;
    if !discovered.algorithms.contains(&header.alg) {
        bail!(
            "ID token signed with {:?}, which the provider does not announce",
            header.alg
        );
    }
    let jwk = provider.key(header.kid.as_deref(), header.alg).await?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| anyhow!("unusable provider key: {e}"))?;
    let client_id = &provider.config.client_id;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&discovered.issuers);
    validation.set_required_spec_claims(&["iss", "sub", "aud", "exp", "iat"]);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|e| anyhow!("ID token refused: {e}"))?
        .claims;
    let now = chrono::Utc::now().timestamp();
    match claims.get("iat").and_then(Value::as_i64) {
        Some(iat) if iat <= now + LEEWAY_SECS as i64 => {}
        _ => bail!("ID token iat is missing or in the future"),
    }
    let several_audiences = claims
        .get("aud")
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() > 1);
    match claims.get("azp").and_then(Value::as_str) {
        Some(azp) if azp != client_id => bail!("ID token azp names another client"),
        None if several_audiences => bail!("ID token has several audiences and no azp"),
        _ => {}
    }
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        bail!("ID token sub is missing");
    }
    Ok(claims)
}
