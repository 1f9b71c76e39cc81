//! `Authorization: Bearer <token>` from apps that keep no cookies: the value auth sent them in
//! its `set-auth-token` header (BetterAuth's bearer plugin), `token.signature`, percent-encoded
//! or not. The guard turns it into the session cookie auth would have set and forwards that, so
//! everything after (auth's get-session, the cache, provisioning, device sessions) is the
//! cookie path. The guard does not know whether auth names its cookie with the `__Secure-`
//! prefix (that follows auth's public URL), so both names carry the value; auth reads its own.
//!
//! A bare session token (no signature) is not accepted here: only auth could sign it.

use axum::http::{header, HeaderMap};
use stackr_contract::cookie::SESSION_TOKEN_NAMES;

/// The scheme, compared without regard to case.
const SCHEME: &str = "bearer ";
/// The longest token taken. Auth signs a 32-character token with a 44-character signature, at
/// most some 170 characters percent-encoded; one far longer cannot be auth's, and forwarded
/// (twice, its `+/=` encoded again) it could pass what auth reads of a request's headers, whose
/// refusal the guard took for auth being down: `503` and a warning in the log, at an anonymous
/// client's will.
const MAX_TOKEN_LEN: usize = 512;

/// The `cookie` header to forward for the request's bearer token, if it carries a signed one.
pub(super) fn as_cookie(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let scheme = value.get(..SCHEME.len())?;
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let token = value[SCHEME.len()..].trim();
    // Only the characters of a signed token (and its percent-encoding): nothing that could end
    // the cookie pair and smuggle another one in.
    let well_formed = token.len() <= MAX_TOKEN_LEN
        && token.contains('.')
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-%+/=".contains(&b));
    if !well_formed {
        return None;
    }
    let encoded = token
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    Some(
        SESSION_TOKEN_NAMES
            .iter()
            .map(|name| format!("{name}={encoded}"))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::as_cookie;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn a_signed_token_becomes_both_session_cookies() {
        assert_eq!(
            as_cookie(&with_authorization("bearer abc.s+g/=")).as_deref(),
            Some("better-auth.session_token=abc.s%2Bg%2F%3D; __Secure-better-auth.session_token=abc.s%2Bg%2F%3D")
        );
        assert_eq!(
            as_cookie(&with_authorization("Bearer abc.s%2Bg%3D")).as_deref(),
            Some("better-auth.session_token=abc.s%2Bg%3D; __Secure-better-auth.session_token=abc.s%2Bg%3D")
        );
    }

    #[test]
    fn anything_else_is_not_a_session() {
        for value in [
            "Bearer ",
            "Bearer bare-token",
            "Basic abc.sig",
            "Bearer abc.sig; better-auth.session_token=other.sig",
            "Bearer abc.sig,x",
            "Bear",
        ] {
            assert_eq!(as_cookie(&with_authorization(value)), None, "{value}");
        }
        let over_long = format!("Bearer a.{}", "b".repeat(super::MAX_TOKEN_LEN));
        assert_eq!(as_cookie(&with_authorization(&over_long)), None);
        assert_eq!(as_cookie(&HeaderMap::new()), None);
    }
}
