//! A pass-through HTTP proxy in front of the real auth that counts requests per path (so a test
//! can prove auth's provision endpoint was called exactly once) and can be switched to answer
//! garbage (so a test can prove the guard fails closed on nonsense, not only on silence).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
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
    garbage: AtomicBool,
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> CountingProxy {
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            counts: Mutex::new(HashMap::new()),
            garbage: AtomicBool::new(false),
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
        self.inner.garbage.store(on, Ordering::SeqCst);
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
    if inner.garbage.load(Ordering::SeqCst) {
        return (StatusCode::OK, "<html>upstream proxy error page</html>").into_response();
    }
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    relay(&inner, parts.method, &parts.uri, &parts.headers, body).await
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
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
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
