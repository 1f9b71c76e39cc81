//! Which browser origins are trusted: the one rule auth applies to its own routes and the kit's
//! guard applies to cookie-authenticated state changes, both configured with the same list
//! syntax (`AUTH_TRUSTED_ORIGINS`, `TRUSTED_ORIGINS`): exact origins (`https://app.example.com`)
//! and wildcard patterns, on the whole origin (`https://*.example.com`) or on the host alone
//! (`*.example.com`).

/// A parsed list of trusted origins. Entries that are neither a URL with an origin nor a pattern
/// are dropped; an empty list trusts nothing (fail closed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginPatterns {
    /// Serialized origins (`scheme://host[:port]`, default port omitted) and wildcard patterns.
    patterns: Vec<String>,
}

impl OriginPatterns {
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
        OriginPatterns { patterns }
    }

    /// Is this origin (or URL: only its origin counts) trusted?
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
}

/// `scheme://host[:port]` of a URL (default port omitted), or `None` when it has no (tuple)
/// origin (`null`, `data:`, `file:`, not a URL).
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
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
    use super::*;

    #[test]
    fn exact_and_wildcard_origins() {
        let t = OriginPatterns::new(["http://localhost:3000/", "https://*.example.com", "junk"]);
        assert!(t.is_trusted("http://localhost:3000"));
        assert!(t.is_trusted("http://localhost:3000/some/page"));
        assert!(t.is_trusted("https://app.example.com"));
        assert!(!t.is_trusted("http://localhost:3001"));
        assert!(!t.is_trusted("https://example.com.evil.com"));
        assert!(!t.is_trusted("null"));
        assert!(!OriginPatterns::default().is_trusted("http://localhost:3000"));
    }

    #[test]
    fn host_patterns_match_any_scheme_and_default_ports_normalise() {
        let t = OriginPatterns::new(["*.example.com", "https://shop.test:443"]);
        assert!(t.is_trusted("http://a.example.com"));
        assert!(t.is_trusted("https://a.example.com:8443"));
        assert!(!t.is_trusted("https://example.org"));
        assert!(t.is_trusted("https://shop.test"));
    }

    /// International hosts compare in their UTS 46 ASCII form, whichever IDNA back end `url` uses
    /// (case folding, NFC, punycode): a page on `BÜCHER.example` is the configured `bücher.example`.
    #[test]
    fn international_hosts_compare_in_their_ascii_form() {
        let t = OriginPatterns::new(["https://bücher.example"]);
        assert!(t.is_trusted("https://xn--bcher-kva.example"));
        assert!(t.is_trusted("https://BU\u{308}CHER.example"));
        assert!(!t.is_trusted("https://bucher.example"));
        assert_eq!(
            origin_of("https://Bücher.example/x").as_deref(),
            Some("https://xn--bcher-kva.example")
        );
        // UTS 46 nontransitional processing: ß is kept, not mapped to ss.
        assert_eq!(
            origin_of("https://straße.example").as_deref(),
            Some("https://xn--strae-oqa.example")
        );
    }
}
