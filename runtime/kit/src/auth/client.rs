use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, COOKIE};
use reqwest::StatusCode;
use url::Url;

use super::{AuthError, OwnerStatus, VerifiedSession};
use crate::config::Credential;
use stackr_tls::outage::Outage;
use stackr_tls::TrustedCa;

/// How long a base service waits for auth before failing closed. Auth answers get-session in
/// well under a millisecond on loopback; seconds mean it is down or wedged.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Talks to auth on behalf of one base service. Cheap to clone (shares one connection pool).
#[derive(Clone, Debug)]
pub struct AuthClient {
    http: reqwest::Client,
    get_session_url: Url,
    /// get-session past auth's own session cache (`?disableCookieCache=true`).
    get_session_uncached_url: Url,
    provision_url: Url,
    user_status_url: Url,
    service: String,
    credential: Option<Credential>,
    /// get-session's last answer, shared by the clones: the guard fails closed on every request
    /// while auth cannot vouch, and the log says so when that starts and when it ends.
    get_session_outage: Arc<Outage>,
    /// The same for user-status, which a device session's every request may need.
    user_status_outage: Arc<Outage>,
}

/// What auth said to a provision call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionOutcome {
    Provisioned,
    /// The cookie carries no valid session (any more).
    NoSession,
    /// Auth refused this service's credential: a deployment mistake, not the user's.
    CredentialRejected,
}

impl AuthClient {
    /// `auth_url` is auth's origin (`AUTH_URL`), e.g. `http://127.0.0.1:8888`.
    pub fn new(auth_url: &Url, service: impl Into<String>, credential: Option<Credential>) -> Self {
        Self::trusting(auth_url, service, credential, None)
    }

    /// [`AuthClient::new`] for an `https://` auth verified against `tls_ca` (`TLS_CA_FILE`).
    pub fn trusting(
        auth_url: &Url,
        service: impl Into<String>,
        credential: Option<Credential>,
        tls_ca: Option<&TrustedCa>,
    ) -> Self {
        let base = auth_url.as_str().trim_end_matches('/');
        let endpoint = |path: &str| {
            Url::parse(&format!("{base}/api/auth/{path}")).expect("AUTH_URL was validated as a URL")
        };
        let http = crate::http::client_builder(tls_ca)
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            // A redirect from auth is not an answer: fail closed rather than ask someone else.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()
            .expect("reqwest client with static settings");
        AuthClient {
            http,
            get_session_url: endpoint("get-session"),
            get_session_uncached_url: endpoint("get-session?disableCookieCache=true"),
            provision_url: endpoint("provision"),
            user_status_url: endpoint("user-status"),
            service: service.into(),
            credential,
            get_session_outage: Arc::new(Outage::new("auth's get-session")),
            user_status_outage: Arc::new(Outage::new("auth's user-status")),
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn has_credential(&self) -> bool {
        self.credential.is_some()
    }

    /// Forwards `cookie` (the request's whole `cookie` header, unchanged) to auth's get-session.
    /// `Ok(None)` is auth's `null`: no valid session. Anything but `200` with `null` or a
    /// consistent `{session, user}` is an error, so the caller fails closed.
    pub async fn get_session(&self, cookie: &str) -> Result<Option<VerifiedSession>, AuthError> {
        self.ask_get_session(&self.get_session_url, cookie).await
    }

    /// [`AuthClient::get_session`] answered from auth's database, never from auth's session
    /// cache, where another auth replica's revocation does not reach.
    pub async fn get_session_uncached(
        &self,
        cookie: &str,
    ) -> Result<Option<VerifiedSession>, AuthError> {
        self.ask_get_session(&self.get_session_uncached_url, cookie)
            .await
    }

    async fn ask_get_session(
        &self,
        url: &Url,
        cookie: &str,
    ) -> Result<Option<VerifiedSession>, AuthError> {
        let answer = self.fetch_get_session(url, cookie).await;
        self.get_session_outage.note_outcome(&answer);
        answer
    }

    async fn fetch_get_session(
        &self,
        url: &Url,
        cookie: &str,
    ) -> Result<Option<VerifiedSession>, AuthError> {
        let response = self
            .http
            .get(url.clone())
            .header(COOKIE, cookie)
            .send()
            .await
            .map_err(AuthError::Unreachable)?;
        if response.status() != StatusCode::OK {
            return Err(AuthError::UnexpectedStatus(response.status().as_u16()));
        }
        let body = response.bytes().await.map_err(AuthError::Unreachable)?;
        parse_get_session(&body)
    }

    /// `request` proving this service (name and credential), or `None` without a credential.
    fn as_service(&self, request: reqwest::RequestBuilder) -> Option<reqwest::RequestBuilder> {
        let credential = self.credential.as_ref()?;
        Some(
            request
                .header("x-stackr-service", &self.service)
                .header(AUTHORIZATION, format!("Bearer {}", credential.expose())),
        )
    }

    /// Tells auth that this service now holds a record for the cookie's user
    /// (docs/runtime-contract.md, "Provisioning protocol").
    pub async fn provision(&self, cookie: &str) -> Result<ProvisionOutcome, AuthError> {
        let Some(request) = self.as_service(self.http.post(self.provision_url.clone())) else {
            return Ok(ProvisionOutcome::CredentialRejected);
        };
        let response = request
            .header(COOKIE, cookie)
            .send()
            .await
            .map_err(AuthError::Unreachable)?;
        match response.status() {
            StatusCode::OK => {
                let body: serde_json::Value = response.json().await.map_err(|e| {
                    AuthError::Garbage(format!("provision answer is not JSON: {e}"))
                })?;
                if body.get("provisioned").and_then(serde_json::Value::as_bool) == Some(true) {
                    Ok(ProvisionOutcome::Provisioned)
                } else {
                    Err(AuthError::Garbage(
                        "provision answer lacks \"provisioned\": true".into(),
                    ))
                }
            }
            StatusCode::UNAUTHORIZED => Ok(ProvisionOutcome::NoSession),
            StatusCode::FORBIDDEN => Ok(ProvisionOutcome::CredentialRejected),
            other => Err(AuthError::UnexpectedStatus(other.as_u16())),
        }
    }

    /// Auth's view of a user who owns a credential this service derived from a session (a
    /// device session): `Ok(None)` once the user is deleted (docs/runtime-contract.md, "Owner
    /// status protocol"). Proven by this service's credential alone.
    /// Auth failing here is logged when it starts and when it ends (a device retrying through
    /// an outage would otherwise write a line per request), as get-session's is.
    pub async fn user_status(&self, user_id: &str) -> Result<Option<OwnerStatus>, AuthError> {
        let answer = self.fetch_user_status(user_id).await;
        self.user_status_outage.note_outcome(&answer);
        answer
    }

    async fn fetch_user_status(&self, user_id: &str) -> Result<Option<OwnerStatus>, AuthError> {
        let mut url = self.user_status_url.clone();
        url.query_pairs_mut().append_pair("userId", user_id);
        let response = self
            .as_service(self.http.get(url))
            .ok_or(AuthError::CredentialRejected)?
            .send()
            .await
            .map_err(AuthError::Unreachable)?;
        match response.status() {
            StatusCode::OK => {
                let body = response.bytes().await.map_err(AuthError::Unreachable)?;
                let status: OwnerStatus = serde_json::from_slice(&body)
                    .map_err(|e| AuthError::Garbage(format!("user-status answer: {e}")))?;
                if status.user_id != user_id {
                    return Err(AuthError::Garbage(
                        "user-status answered for another user".into(),
                    ));
                }
                Ok(Some(status))
            }
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::FORBIDDEN => Err(AuthError::CredentialRejected),
            other => Err(AuthError::UnexpectedStatus(other.as_u16())),
        }
    }
}

fn parse_get_session(body: &[u8]) -> Result<Option<VerifiedSession>, AuthError> {
    let parsed: Option<VerifiedSession> = serde_json::from_slice(body)
        .map_err(|e| AuthError::Garbage(format!("get-session body did not parse: {e}")))?;
    if let Some(v) = &parsed {
        if v.user.id.is_empty() || v.session.id.is_empty() {
            return Err(AuthError::Garbage("empty user or session id".into()));
        }
        if v.session.user_id != v.user.id {
            return Err(AuthError::Garbage(
                "session.userId does not match user.id".into(),
            ));
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_is_no_session_and_garbage_is_an_error() {
        assert!(parse_get_session(b"null").unwrap().is_none());
        for garbage in [
            &b""[..],
            b"<html>",
            b"{}",
            b"{\"session\":null,\"user\":null}",
            b"[]",
            b"true",
        ] {
            assert!(
                parse_get_session(garbage).is_err(),
                "{:?}",
                String::from_utf8_lossy(garbage)
            );
        }
        let mismatched = br#"{"session":{"id":"s","userId":"other","expiresAt":"2030-01-01T00:00:00.000Z"},"user":{"id":"u"}}"#;
        assert!(parse_get_session(mismatched).is_err());
        let ok = br#"{"session":{"id":"s","userId":"u","expiresAt":"2030-01-01T00:00:00.000Z"},"user":{"id":"u"}}"#;
        assert_eq!(parse_get_session(ok).unwrap().unwrap().user.id, "u");
    }
}
