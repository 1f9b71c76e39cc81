//! How auth reads a cookie of a request: which value a name gives ([`find`]) and the text that
//! value stands for ([`unencoded`]). Auth reads each cookie of its own so; the kit's guard keys
//! its session cache on what these read of the session cookie, so that two cookie headers share
//! an entry exactly when auth reads one session from both.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// The session cookie's name over http and over https (`__Secure-`; auth's base URL decides,
/// `AUTH_BASE_URL`). Auth reads the one of its scheme only.
pub const SESSION_TOKEN_NAMES: [&str; 2] = [
    "better-auth.session_token",
    "__Secure-better-auth.session_token",
];

/// The session cookie's name over https (`secure`) or http.
pub fn session_token_name(secure: bool) -> &'static str {
    SESSION_TOKEN_NAMES[usize::from(secure)]
}

/// The value of the first cookie named `name` in a request's `cookie` headers, in their order:
/// pairs are split at `;`, a pair's name and value trimmed of whitespace, the value of surrounding
/// double quotes. Later cookies of that name are not read.
pub fn find<'a>(cookie_headers: impl IntoIterator<Item = &'a str>, name: &str) -> Option<&'a str> {
    cookie_headers
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k.trim() == name).then(|| v.trim().trim_matches('"'))
        })
        .next()
}

/// The text a cookie value stands for: percent-decoded once when it holds a `%` (BetterAuth sends
/// `encodeURIComponent` of it; a client may send it raw, or encode any character), else the
/// value itself. `None` when the decoded bytes are not UTF-8: auth reads nothing from it.
pub fn unencoded(wire: &str) -> Option<Cow<'_, str>> {
    if wire.contains('%') {
        percent_decode_str(wire).decode_utf8().ok()
    } else {
        Some(Cow::Borrowed(wire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_cookie_of_the_name_is_read_trimmed_and_unquoted() {
        let headers = ["a=1; x=\"first\" ", " x = second; b"];
        assert_eq!(find(headers, "x"), Some("first"));
        assert_eq!(find(headers, "b"), None, "a pair without `=` is no cookie");
        assert_eq!(find(["ax=1; x=2"], "x"), Some("2"), "names match whole");
        assert_eq!(find(Vec::<&str>::new(), "x"), None);
    }

    #[test]
    fn a_value_is_decoded_once_and_only_when_encoded() {
        assert_eq!(unencoded("tok.s%2Bg%3D").as_deref(), Some("tok.s+g="));
        assert_eq!(unencoded("tok.s+g=").as_deref(), Some("tok.s+g="));
        assert_eq!(unencoded("%2541").as_deref(), Some("%41"));
        assert_eq!(unencoded("%FF"), None);
    }

    #[test]
    fn names_follow_the_scheme() {
        assert_eq!(session_token_name(false), "better-auth.session_token");
        assert_eq!(
            session_token_name(true),
            "__Secure-better-auth.session_token"
        );
    }
}
