//! Rules of the auth service's `oauthProviders`: what auth's providers file accepts, checked
//! here so a mistake is reported at its place in the config instead of when auth starts.

use std::collections::BTreeMap;

use crate::config::{OAuthPreset, OAuthProviderConfig};

/// A refused provider: the field (relative to `oauthProviders[index]`), what is wrong, and what
/// to do.
pub struct Refusal {
    pub index: usize,
    pub field: &'static str,
    pub message: String,
    pub help: String,
}

fn refuse(index: usize, field: &'static str, message: String, help: &str) -> Refusal {
    Refusal {
        index,
        field,
        message,
        help: help.to_owned(),
    }
}

/// Provider ids appear in URL paths and file names.
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A single printable word: what client ids, Apple ids and scopes are.
fn word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic())
}

/// [`stackr_contract::provider_url::allowed_provider_url`] of the text, parsed as auth parses it.
fn provider_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| stackr_contract::provider_url::allowed_provider_url(&url))
}

pub fn check(providers: &[OAuthProviderConfig]) -> Result<(), Refusal> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, p) in providers.iter().enumerate() {
        if !valid_id(&p.id) {
            return Err(refuse(
                index,
                "id",
                format!("invalid provider id `{}`", p.id),
                "use 1 to 64 characters of a-z, 0-9, `-` and `_`, like `google` or `corp-sso`",
            ));
        }
        if p.id == stackr_contract::PASSWORD_PROVIDER_ID {
            return Err(refuse(
                index,
                "id",
                format!(
                    "provider id `{}` is the id of auth's password accounts",
                    p.id
                ),
                "give the provider another id, like `corp-sso`",
            ));
        }
        if let Some(first) = seen.insert(&p.id, index) {
            return Err(refuse(
                index,
                "id",
                format!(
                    "provider id `{}` is already used by oauthProviders[{first}]",
                    p.id
                ),
                "give every provider its own id",
            ));
        }
        match (&p.preset, &p.issuer) {
            (Some(_), None) => {}
            (None, Some(issuer)) if provider_url(issuer) => {}
            (None, Some(issuer)) => {
                return Err(refuse(
                    index,
                    "issuer",
                    format!("issuer `{issuer}` is not an https URL"),
                    "use the provider's issuer, e.g. `https://id.example.com` (http only on localhost)",
                ))
            }
            _ => {
                return Err(refuse(
                    index,
                    "preset",
                    format!("provider `{}` needs either `preset` or `issuer`, not both", p.id),
                    "use `\"preset\": \"google\"` (or `github`, `apple`), or the `issuer` URL of an OpenID Connect provider",
                ))
            }
        }
        if !word(&p.client_id) {
            return Err(refuse(
                index,
                "clientId",
                format!("clientId `{}` is empty or holds spaces", p.client_id),
                "copy the client id from the provider's console",
            ));
        }
        if let Some(bad) = p.scopes.iter().position(|s| !word(s)) {
            return Err(refuse(
                index,
                "scopes",
                format!(
                    "scope `{}` (scopes[{bad}]) is empty or holds spaces",
                    p.scopes[bad]
                ),
                "list one scope per entry, e.g. `[\"email\", \"profile\"]`",
            ));
        }
        let apple = p.preset == Some(OAuthPreset::Apple);
        for (field, value) in [("teamId", &p.team_id), ("keyId", &p.key_id)] {
            match (apple, value) {
                (true, Some(v)) if v.chars().all(|c| c.is_ascii_alphanumeric()) && !v.is_empty() => {}
                (true, _) => {
                    return Err(refuse(
                        index,
                        field,
                        format!("Apple needs `{field}`, letters and digits"),
                        "copy the Team ID and the Key ID of the Sign in with Apple key from Apple's developer account",
                    ))
                }
                (false, Some(_)) => {
                    return Err(refuse(
                        index,
                        field,
                        format!("`{field}` only applies to the `apple` preset"),
                        "remove it",
                    ))
                }
                (false, None) => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::provider_url;

    #[test]
    fn provider_urls_are_https_or_loopback() {
        assert!(provider_url("https://id.example.com"));
        assert!(provider_url("http://localhost:9000/realms/x"));
        assert!(provider_url("http://127.0.0.1"));
        assert!(!provider_url("http://id.example.com"));
        assert!(!provider_url("http://localhost.evil.example"));
        assert!(!provider_url("https://"));
        assert!(!provider_url("ftp://id.example.com"));
    }

    /// What follows a loopback name can make it the user part of a URL whose host is another
    /// machine: plain http to it is refused as auth refuses it when it starts.
    #[test]
    fn a_loopback_name_before_an_at_sign_is_not_loopback() {
        for remote in [
            "http://localhost:@evil.example",
            "http://127.0.0.1:9000@evil.example/realms/x",
            "http://[::1]:x@evil.example",
            "http://localhost/@evil.example",
        ] {
            let loopback = remote == "http://localhost/@evil.example";
            assert_eq!(provider_url(remote), loopback, "{remote}");
        }
    }
}
