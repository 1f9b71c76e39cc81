//! The OpenID Connect providers users may sign in with, read from `AUTH_OAUTH_PROVIDERS_FILE`.
//!
//! The file is not secret (it may live in the Nix store); each provider's client secret is in a
//! file of its own, named by `clientSecretFile`, read like every other secret of the service:
//!
//! ```json
//! [{ "providerId": "corp",
//!    "discoveryUrl": "https://id.example.com/.well-known/openid-configuration",
//!    "clientId": "stackr",
//!    "clientSecretFile": "/run/credentials/auth/corp-client-secret",
//!    "scopes": ["email", "profile"],
//!    "trustedForAccountLinking": false }]
//! ```

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use serde::Deserialize;

use crate::config::{read_secret_file, Secret};

/// One configured provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The `provider` of `sign-in/social` and the `:id` of `callback/:id`.
    pub id: String,
    pub discovery_url: url::Url,
    pub client_id: String,
    pub client_secret: Secret,
    /// Requested besides `openid`.
    pub scopes: Vec<String>,
    /// BetterAuth's `accountLinking.trustedProviders`: an identity from this provider is linked
    /// to an existing user with the same address even when the provider does not say the address
    /// is verified. Off by default; only for providers that never hand out unverified addresses.
    pub trusted_for_account_linking: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Entry {
    provider_id: String,
    discovery_url: String,
    client_id: String,
    client_secret_file: String,
    #[serde(default = "default_scopes")]
    scopes: Vec<String>,
    #[serde(default)]
    trusted_for_account_linking: bool,
}

fn default_scopes() -> Vec<String> {
    vec!["email".into(), "profile".into()]
}

/// Provider ids appear in paths and cookies: short, lower-case, URL-safe.
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The provider's endpoints are trusted with codes and secrets: https only, except on the
/// loopback interface (a provider run next to the service, as in tests).
pub fn allowed_provider_url(u: &url::Url) -> bool {
    match u.scheme() {
        "https" => true,
        "http" => match u.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// Parses the providers file; errors name the file and the entry, never a secret.
pub fn load(path: &Path) -> anyhow::Result<Vec<ProviderConfig>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read AUTH_OAUTH_PROVIDERS_FILE {}", path.display()))?;
    let entries: Vec<Entry> = serde_json::from_str(&text).with_context(|| {
        format!(
            "AUTH_OAUTH_PROVIDERS_FILE {} is not a JSON list of providers",
            path.display()
        )
    })?;
    let mut out: Vec<ProviderConfig> = Vec::new();
    for e in entries {
        let id = e.provider_id;
        if !valid_id(&id) {
            bail!("AUTH_OAUTH_PROVIDERS_FILE: providerId {id:?} must be 1-64 characters of a-z, 0-9, - and _");
        }
        if out.iter().any(|p| p.id == id) {
            bail!("AUTH_OAUTH_PROVIDERS_FILE: providerId {id:?} is listed twice");
        }
        let discovery_url = url::Url::parse(&e.discovery_url)
            .ok()
            .filter(allowed_provider_url)
            .ok_or_else(|| {
                anyhow!("AUTH_OAUTH_PROVIDERS_FILE: discoveryUrl of {id:?} must be an https URL (http only on loopback)")
            })?;
        if e.client_id.trim().is_empty() {
            bail!("AUTH_OAUTH_PROVIDERS_FILE: clientId of {id:?} is empty");
        }
        let client_secret = read_secret_file(
            Path::new(&e.client_secret_file),
            &format!("clientSecretFile of {id:?}"),
        )?;
        out.push(ProviderConfig {
            id,
            discovery_url,
            client_id: e.client_id,
            client_secret,
            scopes: e.scopes,
            trusted_for_account_linking: e.trusted_for_account_linking,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_providers_and_refuses_bad_entries() {
        let dir = tempfile::tempdir().unwrap();
        let secret = write(dir.path(), "secret", "s3cret-value\n");
        let ok = format!(
            r#"[{{"providerId":"corp","discoveryUrl":"https://id.example.com/.well-known/openid-configuration","clientId":"stackr","clientSecretFile":"{}"}}]"#,
            secret.display()
        );
        let providers = load(&write(dir.path(), "ok.json", &ok)).unwrap();
        assert_eq!(providers[0].id, "corp");
        assert_eq!(providers[0].client_secret.expose(), b"s3cret-value");
        assert_eq!(providers[0].scopes, ["email", "profile"]);
        assert!(!providers[0].trusted_for_account_linking);

        let plain_http = ok.replace("https://id.example.com", "http://id.example.com");
        let err = load(&write(dir.path(), "http.json", &plain_http)).unwrap_err();
        assert!(format!("{err:#}").contains("https"), "{err:#}");
        let loopback = ok.replace("https://id.example.com", "http://127.0.0.1:9000");
        assert!(load(&write(dir.path(), "lo.json", &loopback)).is_ok());
        let twice = format!("[{0},{0}]", &ok[1..ok.len() - 1]);
        let err = load(&write(dir.path(), "twice.json", &twice)).unwrap_err();
        assert!(format!("{err:#}").contains("twice"), "{err:#}");
        let bad_id = ok.replace("\"corp\"", "\"Corp/x\"");
        assert!(load(&write(dir.path(), "id.json", &bad_id)).is_err());
        let no_secret = ok.replace(&secret.display().to_string(), "/nonexistent/secret");
        let err = load(&write(dir.path(), "nosecret.json", &no_secret)).unwrap_err();
        assert!(format!("{err:#}").contains("clientSecretFile"), "{err:#}");
    }
}
