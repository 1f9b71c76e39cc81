//! A pass-through HTTP proxy in front of the real auth that counts requests per path (so a test
//! can prove auth's provision endpoint was called exactly once) and can be switched to answer
//! what a broken or hostile auth might (garbage, a redirect, a session past its expiry), so a
//! test can prove the guard fails closed on nonsense, not only on silence.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

#[derive(Clone)]
pub struct CountingProxy {
    pub url: String,
    inner: Arc<Inner>,
}

struct Inner {
    upstream: String,
    http: reqwest::Client,
    counts: Mutex<HashMap<String, usize>>,
    mode: Mutex<Answer>,
}

/// What the proxy answers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Answer {
    /// Auth's own answer, unchanged.
    Relay,
    /// `200` with an HTML error page.
    Garbage,
    /// `307` to the same path on the real auth (which would answer properly if followed).
    RedirectToAuth,
    /// Auth's get-session answer with `session.expiresAt` replaced by this instant.
    SessionExpiringAt(chrono::DateTime<chrono::Utc>),
    /// `503` to provision calls, auth's own answer to the others.
    ProvisionUnavailable,
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> CountingProxy {
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            counts: Mutex::new(HashMap::new()),
            mode: Mutex::new(Answer::Relay),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(forward).with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        CountingProxy { url, inner }
    }

    pub fn count(&self, path: &str) -> usize {
        self.inner
            .counts
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    pub fn answer_garbage(&self, on: bool) {
        self.answer(if on { Answer::Garbage } else { Answer::Relay });
    }

    pub fn answer(&self, mode: Answer) {
        *self.inner.mode.lock().unwrap() = mode;
    }
}

async fn forward(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    *inner
        .counts
        .lock()
        .unwrap()
        .entry(parts.uri.path().to_owned())
        .or_default() += 1;
    let mode = *inner.mode.lock().unwrap();
    match mode {
        Answer::Garbage => {
            return (StatusCode::OK, "<html>upstream proxy error page</html>").into_response()
        }
        Answer::RedirectToAuth => {
            let target = format!("{}{}", inner.upstream, parts.uri);
            return (
                StatusCode::TEMPORARY_REDIRECT,
                [(axum::http::header::LOCATION, target)],
            )
                .into_response();
        }
        Answer::ProvisionUnavailable if parts.uri.path().ends_with("/provision") => {
            return StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Answer::Relay | Answer::SessionExpiringAt(_) | Answer::ProvisionUnavailable => {}
    }
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let response = relay(&inner, parts.method, &parts.uri, &parts.headers, body).await;
    match mode {
        Answer::SessionExpiringAt(at) if parts.uri.path().ends_with("/get-session") => {
            with_session_expiry(response, at).await
        }
        _ => response,
    }
}

async fn with_session_expiry(response: Response, at: chrono::DateTime<chrono::Utc>) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if let Some(session) = json.get_mut("session").and_then(|s| s.as_object_mut()) {
        session.insert(
            "expiresAt".into(),
            at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .into(),
        );
    }
    Response::from_parts(parts, Body::from(json.to_string()))
}

async fn relay(
    inner: &Inner,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let target = format!(
        "{}{}",
        inner.upstream,
        uri.path_and_query()
            .map_or("/", axum::http::uri::PathAndQuery::as_str)
    );
    let mut req = inner.http.request(method, target).body(body);
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            req = req.header(name, value);
        }
    }
    match req.send().await {
        Ok(res) => {
            let status = res.status();
            let content_type = res.headers().get("content-type").cloned();
            let bytes = res.bytes().await.unwrap_or_default();
            let mut out = Response::new(Body::from(bytes));
            *out.status_mut() = status;
            if let Some(ct) = content_type {
                out.headers_mut().insert("content-type", ct);
            }
            out
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}
