//! The providers users may sign in with, read from `AUTH_OAUTH_PROVIDERS_FILE`: generic OpenID
//! Connect providers found by their discovery document, and the built-in presets of
//! `super::presets` (Google, GitHub, Apple).
//!
//! The file is not secret (it may live in the Nix store); each provider's client secret is in a
//! file of its own, named by `clientSecretFile`, read like every other secret of the service.
//! Apple has no fixed secret: `privateKeyFile` holds the key (PKCS#8 PEM, as Apple hands it out)
//! that signs one, with `teamId` and `keyId`:
//!
//! ```json
//! [{ "providerId": "corp",
//!    "discoveryUrl": "https://id.example.com/.well-known/openid-configuration",
//!    "clientId": "stackr",
//!    "clientSecretFile": "/run/credentials/auth/corp-client-secret",
//!    "scopes": ["email", "profile"],
//!    "trustedForAccountLinking": false },
//!  { "providerId": "github", "preset": "github", "clientId": "Iv1.0123",
//!    "clientSecretFile": "/run/credentials/auth/github-client-secret" },
//!  { "providerId": "apple", "preset": "apple", "clientId": "com.example.web",
//!    "teamId": "TEAM123456", "keyId": "KEY1234567",
//!    "privateKeyFile": "/run/credentials/auth/apple-private-key" }]
//! ```
//!
//! A generic provider may name its `issuer` instead of `discoveryUrl` (the document is then
//! `<issuer>/.well-known/openid-configuration`). A relative secret path is looked up in systemd's
//! credentials folder when there is one (see `secret_file`).
//!
//! A preset's `endpoints` (`issuer`, `authorization`, `token`, `userinfo`, `emails`, `jwks`)
//! replace its defaults one by one; `scopes` are asked for besides the preset's own.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use serde::Deserialize;

use super::presets::{Endpoints, Preset};
use crate::config::{read_secret_file, Secret};
use stackr_contract::provider_url::allowed_provider_url;

/// One configured provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The `provider` of `sign-in/social` and the `:id` of `callback/:id`.
    pub id: String,
    pub source: Source,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// Requested besides `openid` (generic providers) or the preset's own scopes.
    pub scopes: Vec<String>,
    /// BetterAuth's `accountLinking.trustedProviders`: an identity from this provider is linked
    /// to an existing user with the same address even when the provider does not say the address
    /// is verified. Off by default; only for providers that never hand out unverified addresses.
    pub trusted_for_account_linking: bool,
}

/// How the provider's endpoints are known.
#[derive(Debug, Clone)]
pub enum Source {
    /// A generic OpenID Connect provider: its discovery document's URL.
    Discovery(url::Url),
    /// A built-in provider, with its defaults and the file's replacements merged.
    Preset(Preset, Box<Endpoints>),
}

/// What authenticates this service at the provider's token endpoint.
#[derive(Debug, Clone)]
pub enum ClientSecret {
    Shared(Secret),
    /// Apple: a JWT this service signs with the developer's key for each request.
    AppleKey {
        team_id: String,
        key_id: String,
        private_key: Secret,
    },
}

impl ProviderConfig {
    pub fn preset(&self) -> Option<Preset> {
        match self.source {
            Source::Preset(p, _) => Some(p),
            Source::Discovery(_) => None,
        }
    }

    /// Scopes always requested: `openid` for a generic provider, a preset's own otherwise.
    pub fn base_scopes(&self) -> &'static [&'static str] {
        self.preset().map_or(&["openid"], Preset::default_scopes)
    }

    pub fn uses_pkce(&self) -> bool {
        self.preset().is_none_or(Preset::uses_pkce)
    }

    /// `response_type` and any further parameters of the authorization request.
    pub fn authorization_params(&self) -> (&'static str, &'static [(&'static str, &'static str)]) {
        self.preset()
            .map_or(("code", &[]), Preset::authorization_params)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Entry {
    provider_id: String,
    preset: Option<String>,
    discovery_url: Option<String>,
    issuer: Option<String>,
    endpoints: Option<EndpointsEntry>,
    client_id: String,
    client_secret_file: Option<String>,
    team_id: Option<String>,
    key_id: Option<String>,
    private_key_file: Option<String>,
    scopes: Option<Vec<String>>,
    #[serde(default)]
    trusted_for_account_linking: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointsEntry {
    issuer: Option<String>,
    authorization: Option<String>,
    token: Option<String>,
    userinfo: Option<String>,
    emails: Option<String>,
    jwks: Option<String>,
}

/// A generic provider's scopes when the file names none.
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

/// Parses the providers file; errors name the file and the entry, never a secret.
pub fn load(path: &Path) -> anyhow::Result<Vec<ProviderConfig>> {
    let credentials_dir = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
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
        let id = e.provider_id.clone();
        if !valid_id(&id) {
            bail!("AUTH_OAUTH_PROVIDERS_FILE: providerId {id:?} must be 1-64 characters of a-z, 0-9, - and _");
        }
        // Why: stackr_contract::PASSWORD_PROVIDER_ID.
        if id == crate::db::accounts::CREDENTIAL {
            bail!("AUTH_OAUTH_PROVIDERS_FILE: providerId {id:?} is the password accounts' own; choose another");
        }
        if out.iter().any(|p| p.id == id) {
            bail!("AUTH_OAUTH_PROVIDERS_FILE: providerId {id:?} is listed twice");
        }
        let provider = entry(e, credentials_dir.as_deref())
            .with_context(|| format!("AUTH_OAUTH_PROVIDERS_FILE: provider {id:?}"))?;
        out.push(provider);
    }
    Ok(out)
}

fn provider_url(name: &str, raw: &str) -> anyhow::Result<url::Url> {
    url::Url::parse(raw)
        .ok()
        .filter(allowed_provider_url)
        .ok_or_else(|| anyhow!("{name} must be an https URL (http only on loopback)"))
}

/// The preset's endpoints with the file's replacements.
fn endpoints(preset: Preset, given: Option<EndpointsEntry>) -> anyhow::Result<Endpoints> {
    let mut out = preset.endpoints();
    let Some(given) = given else { return Ok(out) };
    let url = |name: &str, raw: Option<String>| {
        raw.map(|raw| provider_url(&format!("endpoints.{name}"), &raw))
            .transpose()
    };
    if let Some(u) = url("authorization", given.authorization)? {
        out.authorization = u;
    }
    if let Some(u) = url("token", given.token)? {
        out.token = u;
    }
    out.userinfo = url("userinfo", given.userinfo)?.or(out.userinfo);
    out.emails = url("emails", given.emails)?.or(out.emails);
    out.jwks = url("jwks", given.jwks)?.or(out.jwks);
    if let Some(issuer) = given.issuer {
        if out.issuer.is_none() {
            bail!("endpoints.issuer: this provider issues no ID tokens");
        }
        out.issuer = Some(issuer);
    }
    Ok(out)
}

/// A secret file named by a relative path is in systemd's credentials folder when the service
/// runs with `LoadCredential` (`$CREDENTIALS_DIRECTORY`), so one providers file serves every unit
/// of the service; elsewhere (dev) it is relative to the working folder.
fn secret_file(raw: &str, credentials_dir: Option<&Path>) -> PathBuf {
    match credentials_dir {
        Some(dir) if Path::new(raw).is_relative() => dir.join(raw),
        _ => PathBuf::from(raw),
    }
}

fn entry(e: Entry, credentials_dir: Option<&Path>) -> anyhow::Result<ProviderConfig> {
    let discovery_url = match (e.discovery_url, e.issuer) {
        (Some(url), None) => Some(url),
        (None, Some(issuer)) => Some(format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        )),
        (None, None) => None,
        (Some(_), Some(_)) => bail!("needs either issuer or discoveryUrl, not both"),
    };
    let source = match (e.preset.as_deref(), discovery_url) {
        (Some(name), None) => {
            let preset = Preset::parse(name).ok_or_else(|| {
                anyhow!("preset {name:?} is not one of {}", Preset::NAMES.join(", "))
            })?;
            Source::Preset(preset, Box::new(endpoints(preset, e.endpoints)?))
        }
        (None, Some(raw)) => {
            if e.endpoints.is_some() {
                bail!("endpoints go with a preset; a discoveryUrl provider announces its own");
            }
            Source::Discovery(provider_url("discoveryUrl", &raw)?)
        }
        _ => bail!("needs either a preset or an issuer (or discoveryUrl), not both"),
    };
    if e.client_id.trim().is_empty() {
        bail!("clientId is empty");
    }
    let is_apple = matches!(source, Source::Preset(Preset::Apple, _));
    let client_secret = match (
        is_apple,
        e.client_secret_file,
        e.team_id,
        e.key_id,
        e.private_key_file,
    ) {
        (false, Some(file), None, None, None) => ClientSecret::Shared(read_secret_file(
            &secret_file(&file, credentials_dir),
            "clientSecretFile",
        )?),
        (true, None, Some(team_id), Some(key_id), Some(file)) => {
            let private_key =
                read_secret_file(&secret_file(&file, credentials_dir), "privateKeyFile")?;
            super::apple_secret::check_key(&private_key).context("privateKeyFile")?;
            ClientSecret::AppleKey {
                team_id,
                key_id,
                private_key,
            }
        }
        (false, ..) => {
            bail!("needs clientSecretFile (teamId, keyId and privateKeyFile are for Apple)")
        }
        (true, ..) => {
            bail!("Apple needs teamId, keyId and privateKeyFile, and no clientSecretFile")
        }
    };
    let scopes = match (&source, e.scopes) {
        (_, Some(scopes)) => scopes,
        (Source::Discovery(_), None) => default_scopes(),
        (Source::Preset(..), None) => Vec::new(),
    };
    Ok(ProviderConfig {
        id: e.provider_id,
        source,
        client_id: e.client_id,
        client_secret,
        scopes,
        trusted_for_account_linking: e.trusted_for_account_linking,
    })
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
        assert!(
            matches!(&providers[0].client_secret, ClientSecret::Shared(s) if s.expose() == b"s3cret-value")
        );
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
        let password_rows = ok.replace(
            "\"corp\"",
            &format!("\"{}\"", crate::db::accounts::CREDENTIAL),
        );
        let err = load(&write(dir.path(), "credential.json", &password_rows)).unwrap_err();
        assert!(format!("{err:#}").contains("password"), "{err:#}");
        let no_secret = ok.replace(&secret.display().to_string(), "/nonexistent/secret");
        let err = load(&write(dir.path(), "nosecret.json", &no_secret)).unwrap_err();
        assert!(format!("{err:#}").contains("clientSecretFile"), "{err:#}");
    }

    #[test]
    fn presets_take_their_defaults_and_replaced_endpoints() {
        let dir = tempfile::tempdir().unwrap();
        let secret = write(dir.path(), "secret", "s3cret-value\n");
        let github = format!(
            r#"[{{"providerId":"gh","preset":"github","clientId":"Iv1","clientSecretFile":"{}","endpoints":{{"token":"http://127.0.0.1:9/t"}}}}]"#,
            secret.display()
        );
        let p = load(&write(dir.path(), "gh.json", &github))
            .unwrap()
            .remove(0);
        let Source::Preset(Preset::Github, endpoints) = &p.source else {
            panic!("{:?}", p.source)
        };
        assert_eq!(endpoints.token.as_str(), "http://127.0.0.1:9/t");
        assert_eq!(
            endpoints.userinfo.as_ref().unwrap().as_str(),
            "https://api.github.com/user"
        );
        assert!(p.scopes.is_empty(), "a preset asks for its own scopes");

        let err = |text: String, name: &str| {
            format!("{:#}", load(&write(dir.path(), name, &text)).unwrap_err())
        };
        let e = err(github.replace("\"github\"", "\"gitlab\""), "p.json");
        assert!(
            e.contains("\"gh\"") && e.contains("google, github, apple"),
            "{e}"
        );
        let e = err(
            github.replace("http://127.0.0.1:9/t", "http://evil.example/t"),
            "h.json",
        );
        assert!(e.contains("endpoints.token"), "{e}");
        let e = err(github.replace("\"token\"", "\"issuer\""), "i.json");
        assert!(e.contains("no ID tokens"), "{e}");
        let e = err(
            github.replace("\"preset\":\"github\"", "\"preset\":\"apple\""),
            "a.json",
        );
        assert!(e.contains("teamId, keyId and privateKeyFile"), "{e}");
        let both = github.replace(
            "\"preset\"",
            "\"discoveryUrl\":\"https://id.example.com/.well-known/openid-configuration\",\"preset\"",
        );
        assert!(err(both, "b.json").contains("not both"));
    }

    #[test]
    fn an_issuer_names_its_discovery_document() {
        let dir = tempfile::tempdir().unwrap();
        let secret = write(dir.path(), "secret", "s");
        let text = format!(
            r#"[{{"providerId":"corp","issuer":"https://id.example.com/","clientId":"c","clientSecretFile":"{}"}}]"#,
            secret.display()
        );
        let p = load(&write(dir.path(), "p.json", &text)).unwrap().remove(0);
        let Source::Discovery(url) = &p.source else {
            panic!("{:?}", p.source)
        };
        assert_eq!(
            url.as_str(),
            "https://id.example.com/.well-known/openid-configuration"
        );
    }

    #[test]
    fn relative_secret_files_are_in_the_credentials_folder() {
        let creds = Path::new("/run/credentials/stackr-auth-api.service");
        assert_eq!(
            secret_file("oauth-google-client-secret", Some(creds)),
            creds.join("oauth-google-client-secret")
        );
        assert_eq!(
            secret_file("/etc/secret", Some(creds)),
            Path::new("/etc/secret")
        );
        assert_eq!(
            secret_file(".stackr/secrets/oauth-google-client-secret", None),
            Path::new(".stackr/secrets/oauth-google-client-secret")
        );
    }
}
