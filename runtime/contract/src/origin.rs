//! Which browser origins are trusted: the one rule auth applies to its own routes and the kit's
//! guard applies to cookie-authenticated state changes, both configured with the same list
//! syntax (`AUTH_TRUSTED_ORIGINS`, `TRUSTED_ORIGINS`): exact origins (`https://app.example.com`)
//! and wildcard patterns, on the whole origin (`https://*.example.com`) or on the host alone
//! (`*.example.com`).

mod wildcard;

/// The longest origin judged, in bytes. A real origin is a scheme, a host of at most 253
/// characters and a port; anything longer is not trusted, whatever the patterns, so no pattern
/// is ever matched against a text an attacker made large.
pub const MAX_ORIGIN_LEN: usize = 2048;

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

    /// Is this origin (or URL: only its origin counts) trusted? Never when the value given, or
    /// the origin it names, is longer than [`MAX_ORIGIN_LEN`].
    pub fn is_trusted(&self, origin: &str) -> bool {
        if origin.len() > MAX_ORIGIN_LEN {
            return false;
        }
        // International hosts grow when written in ASCII: the serialization is checked too.
        let Some(origin) = origin_of(origin).filter(|o| o.len() <= MAX_ORIGIN_LEN) else {
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
                (true, true) => wildcard::matches(p, &origin),
                (true, false) => wildcard::matches(p, &host),
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

    /// A pattern with several stars and an attacker's long `Origin`: nothing over
    /// `MAX_ORIGIN_LEN` is trusted, even what a pattern would match, and a megabyte of the shape
    /// that made backtracking slow is refused at once.
    #[test]
    fn over_long_origins_are_not_trusted() {
        let t = OriginPatterns::new(["https://*-git-*-team.vercel.app", "*.example.com"]);
        let preview = |len: usize| {
            let fill = "b".repeat(len - "https://a-git--team.vercel.app".len());
            format!("https://a-git-{fill}-team.vercel.app")
        };
        assert!(t.is_trusted(&preview(MAX_ORIGIN_LEN)));
        assert!(!t.is_trusted(&preview(MAX_ORIGIN_LEN + 1)));
        let host = |len: usize| format!("http://{}.example.com", "a".repeat(len - 19));
        assert!(t.is_trusted(&host(MAX_ORIGIN_LEN)));
        assert!(!t.is_trusted(&host(MAX_ORIGIN_LEN + 1)));
        let hostile = format!("https://{}", "-git-".repeat(1 << 18));
        assert!(!t.is_trusted(&hostile));
        assert!(!t.is_trusted(&format!("{hostile}-team.vercel.app")));
        // Short in UTF-8, long in ASCII: each `ü.` (3 bytes) is written `xn--tda.` (8).
        let grows = format!("https://{}example.com", "\u{fc}.".repeat(600));
        assert!(grows.len() <= MAX_ORIGIN_LEN);
        assert!(origin_of(&grows).unwrap().len() > MAX_ORIGIN_LEN);
        assert!(!t.is_trusted(&grows));
        assert!(t.is_trusted(&format!("https://{}example.com", "\u{fc}.".repeat(200))));
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
