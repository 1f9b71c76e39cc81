//! CSRF defence for cookie-authenticated state changes, the rule auth applies to its own routes:
//! a request whose method is not GET, HEAD or OPTIONS and that carries a `cookie` header must come
//! from a trusted origin, read from `Origin` (or, without one, from `Referer`).
//!
//! * missing, or `Origin: null` → `403 MISSING_OR_NULL_ORIGIN`, except `null` with
//!   `Sec-Fetch-Site: same-origin` (what browsers send for some same-origin fetches);
//! * not in the list, or longer than any real origin (`MAX_ORIGIN_LEN`, 2048 bytes) →
//!   `403 INVALID_ORIGIN`.
//!
//! A request without a cookie (a device with `x-device-session-token`, a server) cannot be forged
//! by a foreign page, so it is not checked. The list is `TRUSTED_ORIGINS`: exact origins
//! (`https://app.example.com`) and wildcard patterns (`https://*.example.com`, `*.example.com`),
//! the same syntax as auth's `AUTH_TRUSTED_ORIGINS`.

use axum::http::{header, HeaderMap, Method};

use stackr_contract::origin::{origin_of, OriginPatterns};

use super::GuardRejection;

#[derive(Clone, Debug, Default)]
pub struct TrustedOrigins {
    patterns: OriginPatterns,
}

impl TrustedOrigins {
    /// Entries that are neither a URL with an origin nor a pattern are dropped; an empty list
    /// trusts nothing, so every cookie-authenticated state change is refused (fail closed).
    pub fn new<I, S>(entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        TrustedOrigins {
            patterns: OriginPatterns::new(entries),
        }
    }

    pub fn is_trusted(&self, origin: &str) -> bool {
        self.patterns.is_trusted(origin)
    }

    /// The check described in the module docs.
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), GuardRejection> {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
            || !headers.contains_key(header::COOKIE)
        {
            return Ok(());
        }
        match header_str(headers, "origin") {
            Some("null") if header_str(headers, "sec-fetch-site") == Some("same-origin") => Ok(()),
            Some("null") => Err(GuardRejection::MissingOrigin),
            Some(origin) => self.verdict(origin),
            None => match header_str(headers, "referer").and_then(origin_of) {
                Some(origin) => self.verdict(&origin),
                None => Err(GuardRejection::MissingOrigin),
            },
        }
    }

    fn verdict(&self, origin: &str) -> Result<(), GuardRejection> {
        if self.is_trusted(origin) {
            Ok(())
        } else {
            Err(GuardRejection::UntrustedOrigin)
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn exact_and_wildcard_origins() {
        let t = TrustedOrigins::new(["http://localhost:3000/", "https://*.example.com", "junk"]);
        assert!(t.is_trusted("http://localhost:3000"));
        assert!(t.is_trusted("https://app.example.com"));
        assert!(!t.is_trusted("http://localhost:3001"));
        assert!(!t.is_trusted("https://example.com.evil.com"));
        assert!(!t.is_trusted("null"));
        assert!(!TrustedOrigins::default().is_trusted("http://localhost:3000"));
    }

    #[test]
    fn only_cookie_carrying_state_changes_are_checked() {
        let t = TrustedOrigins::new(["http://localhost:3000"]);
        let post = Method::POST;
        let cookie = ("cookie", "better-auth.session_token=x");
        assert_eq!(t.check(&Method::GET, &headers(&[cookie])), Ok(()));
        assert_eq!(t.check(&post, &headers(&[])), Ok(()));
        assert_eq!(
            t.check(&post, &headers(&[cookie])),
            Err(GuardRejection::MissingOrigin)
        );
        assert_eq!(
            t.check(&post, &headers(&[cookie, ("origin", "null")])),
            Err(GuardRejection::MissingOrigin)
        );
        assert_eq!(
            t.check(
                &post,
                &headers(&[
                    cookie,
                    ("origin", "null"),
                    ("sec-fetch-site", "same-origin")
                ])
            ),
            Ok(())
        );
        assert_eq!(
            t.check(
                &post,
                &headers(&[cookie, ("origin", "https://evil.example")])
            ),
            Err(GuardRejection::UntrustedOrigin)
        );
        assert_eq!(
            t.check(
                &post,
                &headers(&[cookie, ("referer", "http://localhost:3000/page")])
            ),
            Ok(())
        );
        assert_eq!(
            t.check(
                &Method::DELETE,
                &headers(&[cookie, ("origin", "http://localhost:3000")])
            ),
            Ok(())
        );
    }

    /// The guard runs before authentication, so the `Origin` it matches is the attacker's: a
    /// megabyte of it, against a pattern with several stars, is refused without being matched. A
    /// long `Referer` counts by its origin, as before.
    #[test]
    fn an_over_long_origin_is_refused() {
        let t = TrustedOrigins::new(["https://*-git-*-team.vercel.app", "http://localhost:3000"]);
        let cookie = ("cookie", "better-auth.session_token=x");
        let hostile = format!("https://{}", "-git-".repeat(1 << 18));
        assert_eq!(
            t.check(&Method::POST, &headers(&[cookie, ("origin", &hostile)])),
            Err(GuardRejection::UntrustedOrigin)
        );
        let long_page = format!("http://localhost:3000/{}", "x".repeat(4096));
        assert_eq!(
            t.check(&Method::POST, &headers(&[cookie, ("referer", &long_page)])),
            Ok(())
        );
    }
}
