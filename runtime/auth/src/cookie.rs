//! BetterAuth's signed cookies: names, value signing/verification and `Set-Cookie` strings.
//!
//! Value on the wire: `encodeURIComponent(value + "." + base64std(HMAC-SHA256(secret, value)))`.
//! On input both the percent-encoded and the raw form are accepted, the value is split at the
//! **last** `.`, and the signature must be 44 characters ending in `=`.

use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

type HmacSha256 = Hmac<Sha256>;

/// Characters `encodeURIComponent` leaves alone: `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// `encodeURIComponent`, as BetterAuth applies it to cookie values.
pub fn encode_uri_component(s: &str) -> String {
    utf8_percent_encode(s, URI_COMPONENT).to_string()
}

/// base64std(HMAC-SHA256(secret, value)) — 44 characters with one `=`.
pub fn signature(secret: &[u8], value: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(value.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// `value.signature`, not yet percent-encoded.
pub fn sign(secret: &[u8], value: &str) -> String {
    format!("{value}.{}", signature(secret, value))
}

/// The wire form of a signed cookie value.
pub fn sign_for_cookie(secret: &[u8], value: &str) -> String {
    encode_uri_component(&sign(secret, value))
}

/// Verifies a signed cookie value (raw or percent-encoded, `stackr_contract::cookie::unencoded`)
/// and returns the inner value. The signature comparison is constant-time.
pub fn verify(secret: &[u8], wire: &str) -> Option<String> {
    let raw = stackr_contract::cookie::unencoded(wire)?;
    let dot = raw.rfind('.')?;
    let (value, sig) = (&raw[..dot], &raw[dot + 1..]);
    if sig.len() != 44 || !sig.ends_with('=') || value.is_empty() {
        return None;
    }
    let expected = signature(secret, value);
    if bool::from(expected.as_bytes().ct_eq(sig.as_bytes())) {
        Some(value.to_owned())
    } else {
        None
    }
}

/// Finds a cookie by exact name in a request's `cookie` headers, as
/// `stackr_contract::cookie::find` reads them (the first of the name), which the kit's guard
/// keys its session cache on.
pub fn find<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    stackr_contract::cookie::find(
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|h| h.to_str().ok()),
        name,
    )
}

/// Cookie names for one server: `better-auth.<name>`, with `__Secure-` when served over https.
#[derive(Debug, Clone)]
pub struct CookieNames {
    pub secure: bool,
    pub session_token: String,
    pub session_data: String,
    pub dont_remember: String,
    pub two_factor: String,
    pub trust_device: String,
    /// Binds an OAuth sign-in to the browser that started it (`crate::oauth::flow_state`).
    pub state: String,
    /// During an impersonation: the admin's own session token, to return to afterwards.
    pub admin_session: String,
    /// Marks a browser that signed in to an account (`crate::known_device`); stackr's own.
    pub known_device: String,
}

impl CookieNames {
    pub fn new(secure: bool) -> Self {
        let name = |n: &str| {
            if secure {
                format!("__Secure-better-auth.{n}")
            } else {
                format!("better-auth.{n}")
            }
        };
        CookieNames {
            secure,
            // The one name the kit's guard looks for too.
            session_token: stackr_contract::cookie::session_token_name(secure).to_owned(),
            session_data: name("session_data"),
            dont_remember: name("dont_remember"),
            two_factor: name("two_factor"),
            trust_device: name("trust_device"),
            state: name("state"),
            admin_session: name("admin_session"),
            known_device: if secure {
                "__Secure-stackr.known_device".to_owned()
            } else {
                "stackr.known_device".to_owned()
            },
        }
    }

    /// A `Set-Cookie` value with BetterAuth's attribute order:
    /// `Max-Age, Path, HttpOnly, Secure, SameSite`. `max_age: None` makes a browser-session cookie.
    pub fn set_cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> String {
        let mut s = format!("{name}={value}");
        if let Some(age) = max_age {
            s.push_str(&format!("; Max-Age={age}"));
        }
        s.push_str("; Path=/; HttpOnly");
        if self.secure {
            s.push_str("; Secure");
        }
        s.push_str("; SameSite=Lax");
        s
    }

    /// Expires a cookie (`name=; Max-Age=0; …`).
    pub fn expire(&self, name: &str) -> String {
        self.set_cookie(name, "", Some(0))
    }

    /// The three cookies BetterAuth clears when a session ends.
    pub fn expire_session(&self) -> Vec<String> {
        vec![
            self.expire(&self.session_token),
            self.expire(&self.session_data),
            self.expire(&self.dont_remember),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAB_SECRET: &[u8] = b"test-secret-0123456789abcdef0123456789abcdef";

    #[test]
    fn signs_exactly_like_the_betterauth_lab_server() {
        // Value captured from a real BetterAuth 1.7.25 server.
        assert_eq!(
            sign_for_cookie(LAB_SECRET, "AJ0gr938b3TZrmZ8h3XL9XPKGR9fp8s5"),
            "AJ0gr938b3TZrmZ8h3XL9XPKGR9fp8s5.Za8OgFn%2BOAgVf2xUUQvL7bwZiUuO7sGQN1wAWqMzCYc%3D"
        );
        assert_eq!(
            sign_for_cookie(LAB_SECRET, "true"),
            "true.i8K8lWmm43%2FqItRtT9GUzE75WMaFyDz4cMBHK5qe4nM%3D"
        );
    }

    #[test]
    fn verifies_encoded_and_raw_and_rejects_tampering() {
        let wire = sign_for_cookie(LAB_SECRET, "tok");
        assert_eq!(verify(LAB_SECRET, &wire).as_deref(), Some("tok"));
        let raw = sign(LAB_SECRET, "tok");
        assert_eq!(verify(LAB_SECRET, &raw).as_deref(), Some("tok"));
        assert_eq!(verify(b"another-secret-another-secret-xx", &wire), None);
        assert_eq!(verify(LAB_SECRET, &wire.replacen("tok", "tol", 1)), None);
        assert_eq!(verify(LAB_SECRET, "tok"), None);
    }

    #[test]
    fn set_cookie_attributes_match_reference() {
        let plain = CookieNames::new(false);
        assert_eq!(
            plain.set_cookie(&plain.session_token, "v", Some(604800)),
            "better-auth.session_token=v; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"
        );
        let secure = CookieNames::new(true);
        assert_eq!(
            secure.set_cookie(&secure.session_token, "v", None),
            "__Secure-better-auth.session_token=v; Path=/; HttpOnly; Secure; SameSite=Lax"
        );
        assert_eq!(
            plain.expire(&plain.session_token),
            "better-auth.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
        );
    }
}
