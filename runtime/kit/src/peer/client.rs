use std::time::Duration;

use reqwest::header::COOKIE;
use serde::de::DeserializeOwned;

use stackr_tls::TrustedCa;

use super::{ForwardedCookie, PeerError, PeerUrls};

/// How long a call waits for the connection to another service of the same stack.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a call waits for the whole answer; past it the caller answers 504 instead of
/// holding its own client.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Calls the other base services of the stack with the user's cookie (those that authenticate
/// someone). Cheap to clone (one
/// connection pool); a scaffolded service finds it in its state (`State<PeerClient>`).
#[derive(Clone, Debug)]
pub struct PeerClient {
    http: reqwest::Client,
    urls: PeerUrls,
    timeout: Duration,
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
        PeerClient {
            http,
            urls,
            timeout,
        }
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
        let url = format!(
            "{}/{}",
            base.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        let mut request = self.http.get(&url);
        if let Some(header) = cookie.header().filter(|_| self.urls.takes_cookie(service)) {
            request = request.header(COOKIE, header);
        }
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
        let response = request.send().await.map_err(failed)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.map_err(failed)?;
            return Err(PeerError::Refused {
                service: service.to_owned(),
                url,
                status,
                body,
            });
        }
        response.json().await.map_err(|source| {
            if source.is_timeout() {
                failed(source)
            } else {
                PeerError::InvalidAnswer {
                    service: service.to_owned(),
                    url: url.clone(),
                    source,
                }
            }
        })
    }
}
