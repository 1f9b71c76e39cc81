//! The auth service's sign-in providers in dev: auth's providers file, which holds no secret and
//! is written by the dev `secrets` process into the state folder, and the secret files the
//! developer copies from each provider's console next to the generated secrets.

use serde::Serialize;
use serde_json::{json, Value};

use super::Secret;
use crate::model::{OAuthPreset, OAuthProviderConfig, Service};

#[derive(Debug, Clone, Serialize)]
pub struct DevOAuth {
    /// Where the `secrets` process writes auth's providers file (`AUTH_OAUTH_PROVIDERS_FILE`).
    pub file: String,
    /// The file's JSON, on one line.
    pub json: String,
    /// Secret files the developer provides; the dev stack refuses to start without them.
    pub secrets: Vec<Secret>,
}

/// The file name of a provider's secret (the same names the NixOS module's defaults use).
pub fn secret_name(p: &OAuthProviderConfig) -> String {
    match p.preset {
        Some(OAuthPreset::Apple) => format!("oauth-{}-private-key", p.id),
        _ => format!("oauth-{}-client-secret", p.id),
    }
}

/// One entry of auth's providers file, its secret at `secret_file`.
fn entry(p: &OAuthProviderConfig, secret_file: &str) -> Value {
    let mut e = json!({ "providerId": p.id, "clientId": p.client_id });
    if let Some(preset) = p.preset {
        e["preset"] = preset.as_str().into();
    }
    if let Some(issuer) = &p.issuer {
        e["issuer"] = issuer.as_str().into();
    }
    if !p.scopes.is_empty() {
        e["scopes"] = json!(p.scopes);
    }
    if p.trusted_for_account_linking {
        e["trustedForAccountLinking"] = true.into();
    }
    match (&p.team_id, &p.key_id) {
        (Some(team), Some(key)) => {
            e["teamId"] = team.as_str().into();
            e["keyId"] = key.as_str().into();
            e["privateKeyFile"] = secret_file.into();
        }
        _ => e["clientSecretFile"] = secret_file.into(),
    }
    e
}

pub fn dev_file(state_dir: &str) -> String {
    format!("{state_dir}/oauth-providers.json")
}

pub fn dev_oauth(state_dir: &str, auth: &Service) -> Option<DevOAuth> {
    if auth.oauth_providers.is_empty() {
        return None;
    }
    let mut entries = Vec::new();
    let mut secrets = Vec::new();
    for p in &auth.oauth_providers {
        let file = format!(
            "{}/{}",
            super::secrets::dev_secrets_dir(state_dir),
            secret_name(p)
        );
        entries.push(entry(p, &file));
        let what = match p.preset {
            Some(OAuthPreset::Apple) => "the Sign in with Apple private key (.p8)",
            _ => "the client secret",
        };
        secrets.push(Secret {
            file,
            purpose: format!("{what} of sign-in provider {}", p.id),
        });
    }
    Some(DevOAuth {
        file: dev_file(state_dir),
        json: Value::Array(entries).to_string(),
        secrets,
    })
}
