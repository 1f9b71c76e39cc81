//! Cross-site request forgery protection for every form post: the request's `Origin` (or, without
//! one, its `Referer`) must be the dashboard itself, and each form carries a token bound to the
//! admin's session and to the form's purpose (HMAC with the service secret), so a token taken from
//! one form cannot drive another, nor outlive the session.

use axum::http::{header, HeaderMap};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::state::AppState;

/// The token for `form` in the session `session_token`.
pub fn token(state: &AppState, session_token: &str, form: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(state.secret()).expect("HMAC takes any key");
    mac.update(b"stackr-admin-dashboard-form\0");
    mac.update(session_token.as_bytes());
    mac.update(b"\0");
    mac.update(form.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `given` is the token for `form` in this session (constant-time comparison).
pub fn valid(state: &AppState, session_token: &str, form: &str, given: &str) -> bool {
    let expected = token(state, session_token, form);
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// Whether the request comes from a page of this dashboard: `Origin` (or `Referer` when a browser
/// sent no `Origin`) names the host the request was sent to. Requests with neither are refused.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let ours = |origin: &str| {
        ["http://", "https://"]
            .iter()
            .any(|scheme| origin.strip_prefix(scheme) == Some(host))
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        return origin.to_str().is_ok_and(ours);
    }
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .is_some_and(|u| ours(&u.origin().ascii_serialization()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_the_dashboard_itself_may_post() {
        let host = ("host", "127.0.0.1:3333");
        assert!(same_origin(&headers(&[
            host,
            ("origin", "http://127.0.0.1:3333")
        ])));
        assert!(same_origin(&headers(&[
            host,
            ("referer", "http://127.0.0.1:3333/users/x")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[host, ("origin", "null")])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://127.0.0.1:33333")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("referer", "http://evil.example/127.0.0.1:3333")
        ])));
        assert!(!same_origin(&headers(&[host])), "neither header: refused");
    }
}
