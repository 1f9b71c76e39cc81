//! CSRF defence for cookie-authenticated state changes, the rule auth applies to its own routes:
//! a request whose method is not GET, HEAD or OPTIONS and that carries a `cookie` header must come
//! from a trusted origin, read from `Origin` (or, without one, from `Referer`).
//!
//! * missing, or `Origin: null` → `403 MISSING_OR_NULL_ORIGIN`, except `null` with
//!   `Sec-Fetch-Site: same-origin` (what browsers send for some same-origin fetches);
//! * not in the list → `403 INVALID_ORIGIN`.
//!
//! A request without a cookie (a device with `x-device-session-token`, a server) cannot be forged
//! by a foreign page, so it is not checked. The list is `TRUSTED_ORIGINS`: exact origins
//! (`https://app.example.com`) and wildcard patterns (`https://*.example.com`, `*.example.com`),
//! the same syntax as auth's `AUTH_TRUSTED_ORIGINS`.

use axum::http::{header, HeaderMap, Method};

use super::GuardRejection;

#[derive(Clone, Debug, Default)]
pub struct TrustedOrigins {
    /// Serialized origins (`scheme://host[:port]`, default port omitted) and wildcard patterns.
    patterns: Vec<String>,
}

impl TrustedOrigins {
    /// Entries that are neither a URL with an origin nor a pattern are dropped; an empty list
    /// trusts nothing, so every cookie-authenticated state change is refused (fail closed).
    pub fn new<I, S>(entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let patterns = entries
            .into_iter()
            .filter_map(|entry| {
                let entry = entry.as_ref().trim().trim_end_matches('/');
                if entry.contains('*') {
                    Some(entry.to_owned())
                } else {
                    origin_of(entry)
                }
            })
            .collect();
        TrustedOrigins { patterns }
    }

    pub fn is_trusted(&self, origin: &str) -> bool {
        let Some(origin) = origin_of(origin) else {
            return false;
        };
        let host = url::Url::parse(&origin)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        self.patterns
            .iter()
            .any(|p| match (p.contains('*'), p.contains("://")) {
                (false, _) => *p == origin,
                (true, true) => wildcard_match(p, &origin),
                (true, false) => wildcard_match(p, &host),
            })
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

/// `scheme://host[:port]` of a URL, or `None` when it has no (tuple) origin.
fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// `*` matches any run of characters (patterns are a few dozen bytes at most).
fn wildcard_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
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
}
