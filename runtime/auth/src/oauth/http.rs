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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A provider on a loopback port that answers every request with `head`, then `body` in
    /// chunks of 64 KiB; its URL.
    async fn provider(head: String, body: Vec<u8>) -> url::Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/doc", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (head, body) = (head.clone(), body.clone());
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    socket.write_all(head.as_bytes()).await?;
                    for chunk in body.chunks(64 << 10) {
                        socket.write_all(chunk).await?;
                    }
                    socket.shutdown().await
                });
            }
        });
        url.parse().unwrap()
    }

    /// `len` bytes of one JSON object.
    fn object_of(len: usize) -> Vec<u8> {
        let mut body = br#"{"pad":""#.to_vec();
        body.resize(len - 2, b'a');
        body.extend_from_slice(br#""}"#);
        body
    }

    #[tokio::test]
    async fn answers_are_read_up_to_a_bound_whatever_they_announce() {
        let http = client();
        let fits = object_of(MAX_BODY_BYTES);
        let ok = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", fits.len());
        let url = provider(ok, fits).await;
        assert!(get_json(&http, &url, None).await.is_ok());

        // Announced too large: refused before the body is read.
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", 1u64 << 40);
        let url = provider(head, Vec::new()).await;
        let err = format!("{:#}", get_json(&http, &url, None).await.unwrap_err());
        assert!(err.contains("larger than"), "{err}");

        // Announced as nothing (the connection's end closes it): refused once past the bound.
        let head = "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_owned();
        let url = provider(head, object_of(MAX_BODY_BYTES + 1)).await;
        let err = format!("{:#}", get_json(&http, &url, None).await.unwrap_err());
        assert!(err.contains("larger than"), "{err}");
    }

    /// A redirected request could carry a bearer token (or, to the token endpoint, the code and
    /// client secret) to whatever host the answer names.
    #[tokio::test]
    async fn redirects_are_not_followed() {
        let target = provider(
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n".to_owned(),
            b"{}".to_vec(),
        )
        .await;
        let head = format!("HTTP/1.1 302 Found\r\nlocation: {target}\r\ncontent-length: 0\r\n\r\n");
        let url = provider(head, Vec::new()).await;
        let err = format!(
            "{:#}",
            get_json(&client(), &url, Some("token")).await.unwrap_err()
        );
        assert!(err.contains("answered 302"), "{err}");
    }
}
