//! Trusted origins and BetterAuth's CSRF defences.
//!
//! 1. Every non-GET/HEAD/OPTIONS request that carries a `Cookie` header must come from a trusted
//!    `Origin` (or `Referer` when there is no Origin): missing → `403 MISSING_OR_NULL_ORIGIN`,
//!    untrusted → `403 INVALID_ORIGIN`.
//! 2. Sign-in and sign-up also defend against login CSRF without cookies: a cross-site top-level
//!    navigation is refused, and when Fetch-Metadata headers are present an Origin/Referer is
//!    required and must be trusted.
//!
//! `POST /api/auth/provision` is exempt: it is called by services, and proven by a service
//! credential rather than by the browser. So is `POST /api/auth/callback/:id`, which a provider's
//! page posts from the provider's origin (`response_mode=form_post`, Apple): it reads no cookie
//! and only sends the browser on to the GET callback, where the state cookie decides.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use stackr_contract::origin::origin_of;
use stackr_contract::origin::OriginPatterns;

use crate::error::ApiError;
use crate::error_codes;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct TrustedOrigins {
    /// The base URL's origin, then the configured ones.
    patterns: OriginPatterns,
}

impl TrustedOrigins {
    pub fn new(base_url: &url::Url, extra: &[String]) -> Self {
        let base = base_url.origin().ascii_serialization();
        TrustedOrigins {
            patterns: OriginPatterns::new(std::iter::once(&base).chain(extra)),
        }
    }

    /// Is this origin (`scheme://host[:port]`) trusted?
    pub fn is_trusted_origin(&self, origin: &str) -> bool {
        self.patterns.is_trusted(origin)
    }

    /// Callback/redirect URLs: a strict relative path (see `is_plain_relative_path`), or an
    /// absolute URL on a trusted origin. Nothing with control characters or backslashes passes:
    /// browsers drop the former and read the latter as `/`, which would turn a harmless-looking
    /// value into a link to another site.
    pub fn is_trusted_url(&self, url: &str) -> bool {
        if url.starts_with('/') {
            return is_plain_relative_path(url);
        }
        if url
            .chars()
            .any(|c| c.is_control() || c == '\\' || c.is_whitespace())
        {
            return false;
        }
        match origin_of(url) {
            Some(origin) => self.is_trusted_origin(&origin),
            None => false,
        }
    }
}

/// A path on this site, as the grammar `/` followed by visible ASCII other than `\`, where the
/// second character is not `/` (`//host` is another site), and percent escapes are well formed
/// and never encode a control character, `/` or `\` (which a proxy or browser could decode into
/// `//host` or `/\host`).
pub fn is_plain_relative_path(url: &str) -> bool {
    let bytes = url.as_bytes();
    if bytes.first() != Some(&b'/') || bytes.get(1) == Some(&b'/') {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !b.is_ascii_graphic() || b == b'\\' {
            return false;
        }
        if b == b'%' {
            let escaped = url
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            match escaped {
                Some(e) if !e.is_ascii_control() && e != b'/' && e != b'\\' => i += 3,
                _ => return false,
            }
        } else {
            i += 1;
        }
    }
    true
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// Origin of the request: `Origin`, else the origin of `Referer`. `"null"` counts as missing.
fn request_origin(headers: &HeaderMap) -> Option<String> {
    match header_str(headers, "origin") {
        Some("null") => None,
        Some(o) => Some(o.to_owned()),
        None => header_str(headers, "referer").and_then(origin_of),
    }
}

fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    match request_origin(headers) {
        None => {
            // `Origin: null` from a same-origin fetch is BetterAuth-accepted.
            if header_str(headers, "origin") == Some("null")
                && header_str(headers, "sec-fetch-site") == Some("same-origin")
            {
                return Ok(());
            }
            Err(ApiError::forbidden(
                error_codes::MISSING_OR_NULL_ORIGIN,
                "Missing or null Origin",
            ))
        }
        Some(o) if state.trusted.is_trusted_origin(&o) => Ok(()),
        Some(_) => Err(ApiError::forbidden(
            error_codes::INVALID_ORIGIN,
            "Invalid origin",
        )),
    }
}

fn is_login_form(path: &str) -> bool {
    path.ends_with("/sign-in/email") || path.ends_with("/sign-up/email")
}

/// `/api/auth/callback/<providerId>`: where a provider's page may post the browser back. A cookie
/// without `SameSite` that an app set on this host travels with that cross-site POST (Safari,
/// Firefox), so checking its origin would refuse every such browser's sign-in.
fn is_provider_callback(path: &str) -> bool {
    path.strip_prefix("/api/auth/callback/")
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// Middleware enforcing the rules above.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method();
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        return next.run(req).await;
    }
    let path = req.uri().path();
    if path == "/api/auth/provision" || is_provider_callback(path) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let result = if headers.contains_key(header::COOKIE) {
        check_origin(&state, headers)
    } else if is_login_form(path) {
        let site = header_str(headers, "sec-fetch-site");
        let mode = header_str(headers, "sec-fetch-mode");
        let has_fetch_metadata =
            site.is_some() || mode.is_some() || header_str(headers, "sec-fetch-dest").is_some();
        if has_fetch_metadata {
            if site == Some("cross-site") && mode == Some("navigate") {
                Err(ApiError::forbidden(
                    error_codes::CROSS_SITE_NAVIGATION_LOGIN_BLOCKED,
                    "Cross-site navigation login blocked. This request appears to be a CSRF attack.",
                ))
            } else {
                check_origin(&state, headers)
            }
        } else if request_origin(headers).is_some() {
            check_origin(&state, headers)
        } else {
            Ok(())
        }
    } else {
        Ok(())
    };
    match result {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_origins_and_urls() {
        let t = TrustedOrigins::new(
            &url::Url::parse("http://localhost:8888").unwrap(),
            &[
                "http://localhost:3000".into(),
                "https://*.example.com".into(),
            ],
        );
        assert!(t.is_trusted_origin("http://localhost:8888"));
        assert!(t.is_trusted_origin("http://localhost:3000"));
        assert!(t.is_trusted_origin("https://app.example.com"));
        assert!(!t.is_trusted_origin("http://localhost:3001"));
        assert!(!t.is_trusted_origin("https://evil.com"));
        assert!(!t.is_trusted_origin("https://example.com.evil.com"));
        assert!(t.is_trusted_url("/dashboard"));
        assert!(t.is_trusted_url("/search?q=a%20b&x=%C3%A9#top"));
        assert!(!t.is_trusted_url("//evil.com/x"));
        assert!(!t.is_trusted_url("/\tevil.com"));
        assert!(!t.is_trusted_url("/%2F/evil.com"));
        assert!(!t.is_trusted_url("/%zz"));
        assert!(t.is_trusted_url("http://localhost:3000/reset"));
        assert!(!t.is_trusted_url("https://evil.com/reset"));
    }
}
