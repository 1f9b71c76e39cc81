use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::COOKIE;
use serde::de::DeserializeOwned;

use stackr_tls::TrustedCa;

use super::{ForwardedCookie, PeerError, PeerUrls};
use stackr_tls::outage::Outage;

/// How long a call waits for the connection to another service of the same stack.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a call waits for the whole answer; past it the caller answers 504 instead of
/// holding its own client.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of another service's answer a call reads: past it the call fails (502) rather than
/// buffer whatever a misbehaving service sends. Longer lists are asked for a page at a time.
pub const MAX_ANSWER_BYTES: usize = 8 << 20;

/// Calls the other base services of the stack with the user's cookie (those that authenticate
/// someone; none from a service that authenticates no one). Cheap to clone (one connection
/// pool); a scaffolded service finds it in its state (`State<PeerClient>`).
#[derive(Clone, Debug)]
pub struct PeerClient {
    http: reqwest::Client,
    urls: PeerUrls,
    timeout: Duration,
    /// Whether calls carry the user's cookie: not from a service that authenticates no one.
    forwards_cookie: bool,
    /// Each service's last call, shared by the clones: a service that cannot be reached is
    /// logged when calls to it start failing and when it answers again.
    outages: Arc<HashMap<String, Outage>>,
}

impl PeerClient {
    pub fn new(urls: PeerUrls) -> Self {
        Self::with_timeout(urls, REQUEST_TIMEOUT)
    }

    /// [`PeerClient::new`] for `https://` services verified against `tls_ca` (`TLS_CA_FILE`).
    pub fn trusting(urls: PeerUrls, tls_ca: Option<&TrustedCa>) -> Self {
        Self::build(urls, REQUEST_TIMEOUT, tls_ca)
    }

    /// `timeout` bounds each whole call (connect, request, answer).
    pub fn with_timeout(urls: PeerUrls, timeout: Duration) -> Self {
        Self::build(urls, timeout, None)
    }

    fn build(urls: PeerUrls, timeout: Duration, tls_ca: Option<&TrustedCa>) -> Self {
        let http = crate::http::client_builder(tls_ca)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            // Redirects would carry the cookie somewhere SERVICE_URLS does not name.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a reqwest client with static settings and parsed roots always builds");
        let outages = urls
            .names()
            .map(|name| (name.to_owned(), Outage::new(format!("service `{name}`"))))
            .collect();
        PeerClient {
            http,
            urls,
            timeout,
            forwards_cookie: true,
            outages: Arc::new(outages),
        }
    }

    /// This client, calling every service without the user's cookie: the client of a service
    /// that authenticates no one (flavor `none`). Such a service has no guard to hold back
    /// cross-site requests, yet browsers send it the stack's session cookie; it does not act as
    /// its callers.
    pub fn without_cookie(mut self) -> Self {
        self.forwards_cookie = false;
        self
    }

    pub fn urls(&self) -> &PeerUrls {
        &self.urls
    }

    /// `GET <service's URL><path>` with `cookie`, decoding a 2xx JSON answer into `T`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        service: &str,
        path: &str,
        cookie: &ForwardedCookie,
    ) -> Result<T, PeerError> {
        let base = self
            .urls
            .get(service)
            .ok_or_else(|| PeerError::UnknownService {
                service: service.to_owned(),
                known: self.urls.names().collect::<Vec<_>>().join(", "),
            })?;
        if super::path::climbs(path) {
            return Err(PeerError::InvalidPath {
                service: service.to_owned(),
                path: path.to_owned(),
            });
        }
        let url = format!(
            "{}/{}",
            base.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        let mut request = self.http.get(&url);
        if let Some(header) = cookie
            .header()
            .filter(|_| self.forwards_cookie && self.urls.takes_cookie(service))
        {
            request = request.header(COOKIE, header);
        }
        let answer = self.answer(service, url, request).await;
        if let Some(outage) = self.outages.get(service) {
            outage.note(match &answer {
                Err(error) if error.is_outage() => Err(stackr_tls::refusal::log_line(error)),
                _ => Ok(()),
            });
        }
        answer
    }

    async fn answer<T: DeserializeOwned>(
        &self,
        service: &str,
        url: String,
        request: reqwest::RequestBuilder,
    ) -> Result<T, PeerError> {
        let failed = |source: reqwest::Error| {
            if source.is_timeout() {
                PeerError::Timeout {
                    service: service.to_owned(),
                    url: url.clone(),
                    after: self.timeout,
                }
            } else {
                PeerError::Unreachable {
                    service: service.to_owned(),
                    url: url.clone(),
                    source,
                }
            }
        };
        let mut response = request.send().await.map_err(failed)?;
        let status = response.status();
        if !status.is_success() {
            let (body, _) = read_up_to(&mut response, REFUSAL_KEPT_BYTES)
                .await
                .map_err(failed)?;
            return Err(PeerError::Refused {
                service: service.to_owned(),
                url,
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        let (body, whole) = read_up_to(&mut response, MAX_ANSWER_BYTES)
            .await
            .map_err(failed)?;
        if !whole {
            return Err(PeerError::TooLarge {
                service: service.to_owned(),
                url,
                limit: MAX_ANSWER_BYTES,
            });
        }
        serde_json::from_slice(&body).map_err(|source| PeerError::InvalidAnswer {
            service: service.to_owned(),
            url,
            source,
        })
    }
}

/// The most of a refusal's body kept (for the log): enough for any error message.
const REFUSAL_KEPT_BYTES: usize = 2048;

/// The body of `response` up to `limit` bytes, and whether that is all of it. Reading stops at
/// the limit: the rest is never received.
async fn read_up_to(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, false));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, true))
}
