//! Calls to a provider: no redirects followed (a redirected token request could hand the code
//! and client secret to another host), short timeouts, bounded answers.

use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

/// A provider document (discovery, JWKS, token, userinfo) is a few kilobytes; anything past this
/// is refused rather than buffered.
const MAX_BODY_BYTES: usize = 1 << 20;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .user_agent("stackr-auth")
        .build()
        .expect("an HTTP client with a fixed configuration builds")
}

/// The status and the JSON object of an answer (`Value::Null` when the body is not JSON).
pub async fn read_json(res: reqwest::Response) -> anyhow::Result<(u16, Value)> {
    let status = res.status().as_u16();
    if res.content_length().unwrap_or(0) > MAX_BODY_BYTES as u64 {
        bail!("the answer is larger than {MAX_BODY_BYTES} bytes");
    }
    let mut res = res;
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.context("reading the answer")? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY_BYTES {
            bail!("the answer is larger than {MAX_BODY_BYTES} bytes");
        }
    }
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// `GET` a JSON value, with an optional bearer token; any status but 200 is an error.
pub async fn get_value(
    http: &reqwest::Client,
    url: &url::Url,
    bearer: Option<&str>,
) -> anyhow::Result<Value> {
    let mut req = http.get(url.clone()).header("accept", "application/json");
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let res = req
        .send()
        .await
        .with_context(|| format!("GET {url} failed"))?;
    match read_json(res).await? {
        (200, value) if !value.is_null() => Ok(value),
        (status, _) => bail!("GET {url} answered {status} without JSON"),
    }
}

/// `GET` a JSON object, with an optional bearer token; any status but 200 is an error.
pub async fn get_json(
    http: &reqwest::Client,
    url: &url::Url,
    bearer: Option<&str>,
) -> anyhow::Result<serde_json::Map<String, Value>> {
    match get_value(http, url, bearer).await? {
        Value::Object(map) => Ok(map),
        _ => bail!("GET {url} answered without a JSON object"),
    }
}
