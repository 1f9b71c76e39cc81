//! A provider's endpoints (its discovery document, or a preset's fixed list) and signing keys,
//! fetched when first needed and cached.
//!
//! Keys rotate: a token signed by a key id the cached set does not hold makes the set be fetched
//! again at once, but such unplanned fetches happen at most once per `KEYS_REFETCH_FLOOR`, so
//! tokens with made-up key ids cannot turn the service into a request cannon against the provider.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::Algorithm;
use tokio::sync::Mutex;

use super::http::get_json;
use super::presets::{Endpoints, Preset};
use super::providers::{ProviderConfig, Source};
use stackr_contract::provider_url::allowed_provider_url;

const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
const KEYS_TTL: Duration = Duration::from_secs(3600);
const KEYS_REFETCH_FLOOR: Duration = Duration::from_secs(10);

/// What the service uses of a discovery document or preset.
#[derive(Debug)]
pub struct Discovered {
    /// The issuers the provider's ID tokens may name, the canonical one first; empty for a plain
    /// OAuth 2.0 provider, which issues no ID tokens.
    pub issuers: Vec<String>,
    pub authorization_endpoint: url::Url,
    pub token_endpoint: url::Url,
    pub userinfo_endpoint: Option<url::Url>,
    /// GitHub's list of the user's addresses.
    pub emails_endpoint: Option<url::Url>,
    pub jwks_uri: Option<url::Url>,
    /// Asymmetric ID-token algorithms the provider announces (never `none` or HMAC: the client
    /// secret is not a signing key this service accepts).
    pub algorithms: Vec<Algorithm>,
    /// The provider announces `authorization_response_iss_parameter_supported` (RFC 9207): it
    /// names itself in every callback, so one without `iss` is not its own.
    pub names_itself_in_callbacks: bool,
}

/// A configured provider with its cached documents.
pub struct Provider {
    pub config: ProviderConfig,
    http: reqwest::Client,
    discovered: Mutex<Option<(Arc<Discovered>, Instant)>>,
    keys: Mutex<Option<(Arc<JwkSet>, Instant)>>,
    /// When a missing key id last made the set be fetched before its time.
    last_unplanned_fetch: Mutex<Option<Instant>>,
}

fn endpoint(
    doc: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> anyhow::Result<url::Url> {
    let raw = doc
        .get(name)
        .and_then(|v| v.as_str())
        .ok_or_else(|| anyhow!("the discovery document has no {name}"))?;
    url::Url::parse(raw)
        .ok()
        .filter(allowed_provider_url)
        .ok_or_else(|| anyhow!("{name} {raw:?} is not an https URL"))
}

fn asymmetric(alg: &str) -> Option<Algorithm> {
    use Algorithm::*;
    let alg: Algorithm = alg.parse().ok()?;
    matches!(
        alg,
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 | ES256 | ES384 | EdDSA
    )
    .then_some(alg)
}

fn parse_discovery(
    discovery_url: &url::Url,
    doc: &serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<Discovered> {
    let issuer = doc
        .get("issuer")
        .and_then(|v| v.as_str())
        .ok_or_else(|| anyhow!("the discovery document has no issuer"))?
        .to_owned();
    // OpenID Connect Discovery §4.3: the issuer must be the URL the document was fetched under.
    let expected = discovery_url
        .as_str()
        .trim_end_matches("/.well-known/openid-configuration");
    if issuer.trim_end_matches('/') != expected.trim_end_matches('/') {
        bail!("the discovery document names issuer {issuer:?}, not the one it was fetched from");
    }
    let algorithms: Vec<Algorithm> = doc
        .get("id_token_signing_alg_values_supported")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().and_then(asymmetric))
                .collect()
        })
        .unwrap_or_default();
    if algorithms.is_empty() {
        bail!("the provider announces no asymmetric ID-token signing algorithm");
    }
    Ok(Discovered {
        issuers: vec![issuer],
        authorization_endpoint: endpoint(doc, "authorization_endpoint")?,
        token_endpoint: endpoint(doc, "token_endpoint")?,
        userinfo_endpoint: endpoint(doc, "userinfo_endpoint").ok(),
        emails_endpoint: None,
        jwks_uri: Some(endpoint(doc, "jwks_uri")?),
        algorithms,
        names_itself_in_callbacks: doc
            .get("authorization_response_iss_parameter_supported")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
    })
}

/// A preset's endpoints in the shape a discovery document gives.
fn preset_discovered(preset: Preset, e: &Endpoints) -> Discovered {
    let issuers = e
        .issuer
        .iter()
        .cloned()
        .chain(
            preset
                .issuer_aliases()
                .iter()
                .map(std::string::ToString::to_string),
        )
        .collect();
    Discovered {
        issuers,
        authorization_endpoint: e.authorization.clone(),
        token_endpoint: e.token.clone(),
        userinfo_endpoint: e.userinfo.clone(),
        emails_endpoint: e.emails.clone(),
        jwks_uri: e.jwks.clone(),
        algorithms: preset.algorithms(),
        // A preset's callbacks are checked against `issuers` when they name one, as before.
        names_itself_in_callbacks: false,
    }
}

impl Provider {
    pub fn new(config: ProviderConfig, http: reqwest::Client) -> Self {
        Provider {
            config,
            http,
            discovered: Mutex::new(None),
            keys: Mutex::new(None),
            last_unplanned_fetch: Mutex::new(None),
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The discovery document, fetched when missing or older than an hour.
    pub async fn discovered(&self) -> anyhow::Result<Arc<Discovered>> {
        let discovery_url = match &self.config.source {
            Source::Discovery(url) => url,
            Source::Preset(preset, endpoints) => {
                return Ok(Arc::new(preset_discovered(*preset, endpoints)))
            }
        };
        let mut cached = self.discovered.lock().await;
        if let Some((doc, at)) = cached.as_ref() {
            if at.elapsed() < DISCOVERY_TTL {
                return Ok(doc.clone());
            }
        }
        let doc = get_json(&self.http, discovery_url, None).await?;
        let doc = Arc::new(
            parse_discovery(discovery_url, &doc)
                .with_context(|| format!("provider {:?}", self.config.id))?,
        );
        *cached = Some((doc.clone(), Instant::now()));
        Ok(doc)
    }

    /// The key that verifies a token signed with `alg` under key id `kid`, fetching the key set
    /// again when the cached one lacks it (see the module comment for the bound on refetches).
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> anyhow::Result<Jwk> {
        let mut cached = self.keys.lock().await;
        if let Some((set, at)) = cached.as_ref() {
            let fresh = at.elapsed() < KEYS_TTL;
            if let (true, Some(key)) = (fresh, pick(set, kid, alg)) {
                return Ok(key);
            }
            if fresh {
                let mut last = self.last_unplanned_fetch.lock().await;
                if last.is_some_and(|t| t.elapsed() < KEYS_REFETCH_FLOOR) {
                    bail!("no key {kid:?} for {alg:?} in the provider's key set");
                }
                *last = Some(Instant::now());
            }
        }
        let jwks_uri = self
            .discovered()
            .await?
            .jwks_uri
            .clone()
            .ok_or_else(|| anyhow!("the provider publishes no signing keys"))?;
        let doc = get_json(&self.http, &jwks_uri, None).await?;
        let set: JwkSet = serde_json::from_value(serde_json::Value::Object(doc))
            .context("the provider's jwks_uri does not hold a JSON Web Key Set")?;
        let set = Arc::new(set);
        *cached = Some((set.clone(), Instant::now()));
        pick(&set, kid, alg)
            .ok_or_else(|| anyhow!("no key {kid:?} for {alg:?} in the provider's key set"))
    }
}

/// The signing key with this id (or the only one fit for `alg` when the token names none).
fn pick(set: &JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<Jwk> {
    use jsonwebtoken::jwk::{AlgorithmParameters, PublicKeyUse};
    let fits = |k: &&Jwk| {
        let for_signing = !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption));
        let family = matches!(
            (&k.algorithm, alg),
            (
                AlgorithmParameters::RSA(_),
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ) | (
                AlgorithmParameters::EllipticCurve(_),
                Algorithm::ES256 | Algorithm::ES384
            ) | (AlgorithmParameters::OctetKeyPair(_), Algorithm::EdDSA)
        );
        let declared = k
            .common
            .key_algorithm
            .is_none_or(|a| a.to_string() == format!("{alg:?}"));
        for_signing && family && declared
    };
    match kid {
        Some(kid) => set
            .keys
            .iter()
            .filter(fits)
            .find(|k| k.common.key_id.as_deref() == Some(kid))
            .cloned(),
        None => {
            let mut candidates = set.keys.iter().filter(fits);
            let only = candidates.next()?;
            candidates.next().is_none().then(|| only.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discovery_url() -> url::Url {
        "https://id.example.com/.well-known/openid-configuration"
            .parse()
            .unwrap()
    }

    fn doc(
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut d = serde_json::json!({
            "issuer": "https://id.example.com",
            "authorization_endpoint": "https://id.example.com/auth",
            "token_endpoint": "https://id.example.com/token",
            "userinfo_endpoint": "https://id.example.com/me",
            "jwks_uri": "https://id.example.com/jwks",
            "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"]
        });
        edit(&mut d);
        d.as_object().unwrap().clone()
    }

    #[test]
    fn keeps_only_what_can_be_trusted() {
        let d = parse_discovery(&discovery_url(), &doc(|_| {})).unwrap();
        assert_eq!(
            d.algorithms,
            [Algorithm::RS256],
            "HS256 and none are never accepted"
        );
        let err = |e: &dyn Fn(&mut serde_json::Value)| {
            format!(
                "{:#}",
                parse_discovery(&discovery_url(), &doc(e)).unwrap_err()
            )
        };
        assert!(err(&|d| d["issuer"] = "https://evil.example".into()).contains("issuer"));
        assert!(
            err(&|d| d["id_token_signing_alg_values_supported"] = serde_json::json!(["HS256"]))
                .contains("asymmetric")
        );
        assert!(
            err(&|d| d["token_endpoint"] = "http://id.example.com/token".into())
                .contains("token_endpoint")
        );
        assert!(err(&|d| d["jwks_uri"] = serde_json::Value::Null).contains("jwks_uri"));
    }

    /// A Google preset whose key set is served on a loopback port that counts its requests.
    async fn provider_with_counted_keys() -> (Provider, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let jwks = format!("http://{}/keys", listener.local_addr().unwrap());
        let served = Arc::new(AtomicUsize::new(0));
        let count = served.clone();
        tokio::spawn(async move {
            let body = r#"{"keys":[{"kty":"RSA","kid":"a","use":"sig","alg":"RS256","n":"sXch","e":"AQAB"}]}"#;
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        let mut endpoints = Preset::Google.endpoints();
        endpoints.jwks = Some(jwks.parse().unwrap());
        let config = ProviderConfig {
            id: "google".into(),
            source: Source::Preset(Preset::Google, Box::new(endpoints)),
            client_id: "client".into(),
            client_secret: super::super::providers::ClientSecret::Shared(
                crate::config::Secret::new("secret"),
            ),
            scopes: Vec::new(),
            trusted_for_account_linking: false,
        };
        (Provider::new(config, super::super::http::client()), served)
    }

    /// Key ids are the token's, which a provider's signer chooses, not this service: still, key
    /// ids the cached set lacks fetch it again at most once per `KEYS_REFETCH_FLOOR`, however
    /// many tokens name them.
    #[tokio::test]
    async fn unknown_key_ids_fetch_the_key_set_again_at_most_once_a_while() {
        use std::sync::atomic::Ordering;
        let (provider, served) = provider_with_counted_keys().await;
        assert!(provider.key(Some("a"), Algorithm::RS256).await.is_ok());
        assert_eq!(served.load(Ordering::SeqCst), 1);
        assert!(provider.key(Some("a"), Algorithm::RS256).await.is_ok());
        assert_eq!(served.load(Ordering::SeqCst), 1, "a known key is cached");
        for kid in ["rotated", "made-up-1", "made-up-2", "made-up-3"] {
            assert!(provider.key(Some(kid), Algorithm::RS256).await.is_err());
        }
        assert_eq!(
            served.load(Ordering::SeqCst),
            2,
            "one fetch for every unknown key id of the floor"
        );
    }

    #[test]
    fn picks_the_named_signing_key() {
        let set: JwkSet = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "a", "use": "sig", "alg": "RS256", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "kid": "b", "use": "enc", "n": "sXch", "e": "AQAB"},
            {"kty": "EC", "kid": "c", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
        ]}))
        .unwrap();
        assert_eq!(
            pick(&set, Some("a"), Algorithm::RS256)
                .unwrap()
                .common
                .key_id
                .as_deref(),
            Some("a")
        );
        assert!(
            pick(&set, Some("a"), Algorithm::RS384).is_none(),
            "the key declares RS256"
        );
        assert!(
            pick(&set, Some("b"), Algorithm::RS256).is_none(),
            "an encryption key"
        );
        assert!(
            pick(&set, Some("c"), Algorithm::RS256).is_none(),
            "another key family"
        );
        assert!(pick(&set, Some("zz"), Algorithm::RS256).is_none());
        assert_eq!(
            pick(&set, None, Algorithm::ES256)
                .unwrap()
                .common
                .key_id
                .as_deref(),
            Some("c")
        );
    }
}
