//! The back-channel half of a sign-in: trading the code for tokens, and reading who signed in.

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::discovery::{Discovered, Provider};
use super::http::{get_json, read_json};
use super::providers::ClientSecret;

pub use crate::db::oauth_accounts::Tokens;

/// The person behind a sign-in, as the provider describes them.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The provider's subject: the `accountId` of the account row.
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub image: Option<String>,
}

impl Profile {
    /// The profile held to the rules of text typed in at sign-up (`crate::body::MAX_CHARS`, and no
    /// NUL, which PostgreSQL cannot store): what a provider sends, or for Apple's name what the
    /// browser posts, is the signer-in's own writing. The name loses its NULs and is cut to its
    /// cap; an address or picture over its cap or holding a NUL is left out, since cut it would
    /// name something else. So is an address that is not one as it was sent (`looks_like_email`,
    /// untrimmed): the provider vouched for that very string, and the normalisation stored
    /// addresses go through would trim `" carol@example.com"` into carol's address. Nor is an
    /// address in which that normalisation turns a character from outside ASCII into ASCII
    /// (`normalises_into_ascii`: the Kelvin sign into `k`, so `"\u{212A}im@example.com"` would be
    /// kim's). A subject
    /// holding a NUL cannot be stored (it is the account's `accountId`) nor be changed without
    /// naming another identity: the profile is unusable.
    pub fn within_caps(self) -> anyhow::Result<Profile> {
        if self.subject.contains('\0') {
            bail!("the provider's subject holds a NUL character");
        }
        let whole = |key: &str, value: Option<String>| {
            value.filter(|v| !v.contains('\0') && crate::body::fits(key, v))
        };
        let email = whole("email", self.email)
            .filter(|e| crate::body::looks_like_email(e) && !normalises_into_ascii(e));
        let cap = crate::body::max_chars("name").unwrap_or(usize::MAX);
        let name = self
            .name
            .map(|n| {
                n.chars()
                    .filter(|c| *c != '\0')
                    .take(cap)
                    .collect::<String>()
            })
            .filter(|n| !n.is_empty());
        Ok(Profile {
            email,
            image: whole("image", self.image),
            name,
            ..self
        })
    }
}

/// Whether the normalisation stored addresses go through (`users::normalize_email`) turns a
/// character of `email` from outside ASCII into ASCII (the Kelvin sign into `k`, the Greek
/// question mark into `;`): the address would then be taken for one its sender never wrote. A
/// genuine letter outside ASCII stays outside it (`é`, composed or decomposed; fullwidth letters,
/// which the normalisation, NFC, leaves as they are). Each character is normalised alone:
/// composing never makes ASCII, so an ASCII character in the result comes from an ASCII one or
/// from one character's own mapping.
fn normalises_into_ascii(email: &str) -> bool {
    email
        .chars()
        .filter(|c| !c.is_ascii())
        .any(|c| crate::db::users::normalize_email(c.encode_utf8(&mut [0; 4])).is_ascii())
}

pub(super) fn string(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn expiry(map: &Map<String, Value>, key: &str) -> Option<DateTime<Utc>> {
    let secs = map.get(key).and_then(Value::as_i64)?;
    Some(Utc::now() + chrono::Duration::seconds(secs.clamp(0, 10 * 365 * 86_400)))
}

/// What goes in the token request's `client_secret`.
fn client_secret(provider: &Provider, discovered: &Discovered) -> anyhow::Result<String> {
    let config = &provider.config;
    match &config.client_secret {
        ClientSecret::Shared(secret) => std::str::from_utf8(secret.expose())
            .map(str::to_owned)
            .context("the client secret is not UTF-8"),
        ClientSecret::AppleKey {
            team_id,
            key_id,
            private_key,
        } => {
            let audience = discovered
                .issuers
                .first()
                .ok_or_else(|| anyhow!("Apple's issuer is not configured"))?;
            super::apple_secret::sign(team_id, key_id, private_key, &config.client_id, audience)
        }
    }
}

/// Authorization code (+ PKCE verifier where the provider takes one) → tokens
/// (`client_secret_post`, BetterAuth's default).
pub async fn redeem_code(
    provider: &Provider,
    code: &str,
    code_verifier: &str,
    redirect_uri: &str,
) -> anyhow::Result<Tokens> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    if provider.config.uses_pkce() {
        form.push(("code_verifier", code_verifier));
    }
    token_request(provider, form).await
}

/// A refresh token of the account with provider subject `subject` → new tokens
/// (`grant_type=refresh_token`, `client_secret_post`), as BetterAuth refreshes an access token
/// that is about to expire. An ID token in the answer must pass `id_token::verify_refreshed`:
/// it is stored, and read back as verified claims (`super::userinfo`).
pub async fn refresh(
    provider: &Provider,
    refresh_token: &str,
    subject: &str,
) -> anyhow::Result<Tokens> {
    let form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    let tokens = token_request(provider, form).await?;
    if tokens.access_token.is_none() {
        bail!("the token endpoint answered a refresh without an access token");
    }
    if let Some(id_token) = &tokens.id_token {
        super::id_token::verify_refreshed(provider, id_token, subject).await?;
    }
    Ok(tokens)
}

/// One request to the token endpoint with the client's credentials added to `form`.
async fn token_request(provider: &Provider, mut form: Vec<(&str, &str)>) -> anyhow::Result<Tokens> {
    let discovered = provider.discovered().await?;
    let secret = client_secret(provider, &discovered)?;
    form.push(("client_id", &provider.config.client_id));
    form.push(("client_secret", &secret));
    let res = provider
        .http()
        .post(discovered.token_endpoint.clone())
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .context("the token endpoint did not answer")?;
    let (status, body) = read_json(res).await?;
    let Value::Object(map) = body else {
        bail!("the token endpoint answered {status} without a JSON object");
    };
    // GitHub answers a refused code with 200 and an `error` member.
    if status != 200 || map.contains_key("error") {
        let error = string(&map, "error").unwrap_or_default();
        bail!("the token endpoint answered {status} {error:?}");
    }
    let scope = string(&map, "scope");
    // Stored as the account's `scope`, PostgreSQL text, which cannot hold a NUL.
    if scope.as_deref().is_some_and(|s| s.contains('\0')) {
        bail!("the token endpoint answered a scope holding a NUL character");
    }
    Ok(Tokens {
        access_token: string(&map, "access_token"),
        refresh_token: string(&map, "refresh_token"),
        id_token: string(&map, "id_token"),
        access_token_expires_at: expiry(&map, "expires_in"),
        refresh_token_expires_at: expiry(&map, "refresh_token_expires_in"),
        scope: scope.map(|s| s.split_whitespace().collect::<Vec<_>>().join(",")),
    })
}

/// `email_verified` as providers send it: a boolean, or the strings `"true"`/`"false"`.
pub(super) fn flag(map: &Map<String, Value>, key: &str) -> bool {
    match map.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

pub(super) fn profile_of(subject: String, map: &Map<String, Value>) -> Profile {
    Profile {
        subject,
        email: string(map, "email"),
        email_verified: flag(map, "email_verified"),
        name: string(map, "name"),
        image: string(map, "picture"),
    }
}

/// The profile from verified ID-token claims; when they carry no email (providers following
/// OpenID Connect's advice put profile claims in userinfo only), from the userinfo endpoint,
/// whose `sub` must be the token's.
pub async fn profile(
    provider: &Provider,
    claims: &Map<String, Value>,
    access_token: Option<&str>,
) -> anyhow::Result<Profile> {
    let subject = string(claims, "sub").ok_or_else(|| anyhow!("the ID token has no sub"))?;
    if claims.contains_key("email") {
        return Ok(profile_of(subject, claims));
    }
    let discovered = provider.discovered().await?;
    let (Some(userinfo), Some(token)) = (&discovered.userinfo_endpoint, access_token) else {
        return Ok(profile_of(subject, claims));
    };
    let info = get_json(provider.http(), userinfo, Some(token)).await?;
    if string(&info, "sub").as_deref() != Some(subject.as_str()) {
        bail!("userinfo describes another subject than the ID token");
    }
    Ok(profile_of(subject, &info))
}

/// The name in Apple's `user` callback parameter (`{"name":{"firstName","lastName"}}`), sent
/// the first time a person signs in to the app and never again.
pub fn apple_user_name(user: &str) -> Option<String> {
    let user: Value = serde_json::from_str(user).ok()?;
    let part = |key: &str| user["name"][key].as_str().unwrap_or("").to_owned();
    let name = format!("{} {}", part("firstName"), part("lastName"));
    Some(name.trim().to_owned()).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{apple_user_name, normalises_into_ascii};

    #[test]
    fn only_characters_normalised_into_ascii_disqualify_an_address() {
        assert!(normalises_into_ascii("\u{212A}im@example.com"));
        assert!(normalises_into_ascii("kim\u{37E}x@example.com"));
        assert!(!normalises_into_ascii("Kim@example.com"));
        assert!(!normalises_into_ascii("caf\u{E9}@example.com"));
        assert!(!normalises_into_ascii("cafe\u{301}@example.com"));
        assert!(!normalises_into_ascii("\u{FF2B}im@example.com"));
        // Lower-cased to `i` and a combining dot: still not an ASCII address.
        assert!(!normalises_into_ascii("\u{130}m@example.com"));
    }

    #[test]
    fn reads_the_name_apple_sends_once() {
        let user = r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"a@example.com"}"#;
        assert_eq!(apple_user_name(user).as_deref(), Some("Ada Lovelace"));
        assert_eq!(
            apple_user_name(r#"{"name":{"firstName":"Ada"}}"#).as_deref(),
            Some("Ada")
        );
        assert_eq!(apple_user_name(r#"{"email":"a@example.com"}"#), None);
        assert_eq!(apple_user_name("not json"), None);
    }
}
