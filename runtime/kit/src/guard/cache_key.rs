//! What the session cache files a forwarded cookie header under: the part of it auth's
//! get-session answers from, and nothing else.
//!
//! Get-session reads the session cookie of auth's scheme (`__Secure-` over https) as
//! `stackr_contract::cookie` does: the first cookie of that name, its value percent-decoded. Any
//! other cookie, a later one of the same name, the order, the spacing, quotes and which
//! characters are percent-encoded change nothing in its answer, so none is in the key. Keyed on
//! the whole header, one signed-in client could send its session with endless made-up neighbours,
//! each a new entry of the bounded cache, and push every other user's entry out, so that their
//! requests all went to auth. The token's signature stays in the key: a cached session's token
//! with a made-up signature is another key, which auth refuses.
//!
//! Get-session also reads `dont_remember`, which is left out: it only stops auth from extending
//! the session (moving its expiry), and either answer is the session and user as auth's database
//! holds them, which a request of the same session may be answered with for the cache's TTL
//! anyway. Nor could the guard, which cannot check its signature, tell a real one from a made-up
//! one: in the key, made-up values would make new entries again.
//!
//! The guard does not know which of the two names auth reads (its scheme follows auth's public
//! URL). A header with one of them, or with both at the same value (an app's bearer token, see
//! `bearer`), reads the same whichever it is. One with both at different values is not cached
//! (every such request asks auth): keyed on both, the name auth does not read could carry endless
//! made-up values; and a browser sends both only while it keeps a cookie from before auth moved
//! to https, so little is lost.

use stackr_contract::cookie::{find, unencoded, SESSION_TOKEN_NAMES};

/// The session cache's key for `cookie` (the `cookie` header forwarded to auth), or `None` when it
/// is not to be cached. The key is the session cookie's name (or `both`) and its decoded value,
/// apart at the first newline, which no name holds: two keys are equal only when both are.
pub(super) fn session_cache_key(cookie: &str) -> Option<String> {
    let [http, https] = SESSION_TOKEN_NAMES.map(|name| find([cookie], name).map(unencoded));
    let (name, value) = match (http, https) {
        (Some(Some(value)), None) => (SESSION_TOKEN_NAMES[0], value),
        (None, Some(Some(value))) => (SESSION_TOKEN_NAMES[1], value),
        (Some(Some(value)), Some(Some(other))) if value == other => ("both", value),
        // Both at different values, or a value that is not text once decoded (auth reads no
        // session from it).
        _ => return None,
    };
    Some(format!("{name}\n{value}"))
}

#[cfg(test)]
mod tests {
    use super::session_cache_key as key;

    const HTTP: &str = "better-auth.session_token";
    const HTTPS: &str = "__Secure-better-auth.session_token";

    #[test]
    fn what_auth_does_not_read_is_not_in_the_key() {
        let plain = key(&format!("{HTTP}=tok.s%2Bg%3D")).unwrap();
        for same in [
            format!("{HTTP}=tok.s%2Bg%3D; theme=dark"),
            format!("_ga=1;{HTTP}=tok.s%2Bg%3D"),
            format!("  {HTTP} = tok.s%2Bg%3D ; a=b "),
            format!("{HTTP}=tok.s%2Bg%3D; {HTTP}=other.sig"),
            format!("{HTTP}=\"tok.s%2Bg%3D\""),
            format!("{HTTP}=tok.s+g="),
            format!("{HTTP}=%74ok.s+g%3D"),
            format!("{HTTP}=tok.s%2Bg%3D; better-auth.dont_remember=made-up"),
        ] {
            assert_eq!(key(&same).as_deref(), Some(plain.as_str()), "{same}");
        }
    }

    #[test]
    fn what_auth_reads_is() {
        let plain = key(&format!("{HTTP}=tok.sig=")).unwrap();
        for other in [
            format!("{HTTP}=tok.sih="),
            format!("{HTTP}=tol.sig="),
            format!("{HTTPS}=tok.sig="),
            format!("{HTTP}=tok.sig=; {HTTPS}=tok.sig="),
            format!("{HTTP}=other.sig; {HTTP}=tok.sig="),
            format!("{HTTP}=tok.sig%253D"),
        ] {
            assert_ne!(key(&other).as_deref(), Some(plain.as_str()), "{other}");
        }
    }

    /// A decoded value may hold anything, a newline too; the name before it cannot.
    #[test]
    fn a_value_cannot_pass_for_another_name() {
        let both = key(&format!("{HTTP}=tok.sig; {HTTPS}=tok.sig")).unwrap();
        let posing = key(&format!("{HTTP}=%0Aboth%0Atok.sig"));
        assert_ne!(posing.as_deref(), Some(both.as_str()));
        assert_ne!(
            key(&format!("{HTTPS}=x")),
            key(&format!("{HTTP}=x")),
            "the same value under each name"
        );
    }

    #[test]
    fn ambiguous_or_unreadable_sessions_are_not_cached() {
        assert_eq!(key(&format!("{HTTP}=a.sig; {HTTPS}=b.sig")), None);
        assert_eq!(key(&format!("{HTTP}=%FF.sig")), None);
        assert_eq!(key("theme=dark"), None);
    }
}
