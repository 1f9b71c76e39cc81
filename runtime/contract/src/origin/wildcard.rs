//! The wildcard of trusted-origin patterns: `*` stands for any run of characters, the empty run
//! included, dots, colons and slashes too (`https://*.example.com` also trusts
//! `https://a.b.example.com`).
//!
//! Matched in one left-to-right pass, in time linear in the text: the text must start with the
//! piece before the first `*` and end with the piece after the last; each piece between is taken
//! at its leftmost place after the one before it. The leftmost place is never wrong: it leaves the
//! most text for the pieces still to come, and the `*` before it absorbs whatever was skipped.
//! Trying every split instead costs time growing with the text's length to the power of the
//! number of stars, and the text is the `Origin` header an attacker chooses.

/// Does `text` match `pattern`?
pub(super) fn matches(pattern: &str, text: &str) -> bool {
    let Some((first, after_first)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let (middle, last) = after_first.rsplit_once('*').unwrap_or(("", after_first));
    // The last piece is cut from what the first leaves, so the two never share characters.
    let Some(mut rest) = text
        .strip_prefix(first)
        .and_then(|rest| rest.strip_suffix(last))
    else {
        return false;
    };
    for piece in middle.split('*') {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::matches;

    /// The definition, by trying every split at each `*`: exponential, for short inputs only.
    fn reference(pattern: &[u8], text: &[u8]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some((b'*', rest)) => (0..=text.len()).any(|i| reference(rest, &text[i..])),
            Some((c, rest)) => text.first() == Some(c) && reference(rest, &text[1..]),
        }
    }

    /// Every string over `alphabet` of at most `max_len` characters.
    fn all_strings(alphabet: &[char], max_len: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..max_len {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn agrees_with_trying_every_split_on_all_short_inputs() {
        let patterns = all_strings(&['a', 'b', '.', '*'], 4);
        let texts = all_strings(&['a', 'b', '.', '/'], 5);
        for pattern in &patterns {
            for text in &texts {
                assert_eq!(
                    matches(pattern, text),
                    reference(pattern.as_bytes(), text.as_bytes()),
                    "pattern {pattern:?}, text {text:?}"
                );
            }
        }
    }

    #[test]
    fn origin_shaped_cases() {
        let preview = "https://*-git-*-team.vercel.app";
        for (text, expected) in [
            ("https://app-git-feature-team.vercel.app", true),
            ("https://app-git--team.vercel.app", true),
            // `*` crosses dots, colons and slashes, as it always has.
            ("https://a.b-git-c.d-team.vercel.app", true),
            ("https://a:b-git-c/d-team.vercel.app", true),
            // `-git-` and `-team` may not share the dash between them.
            ("https://app-git-team.vercel.app", false),
            ("https://app-team.vercel.app", false),
            ("http://app-git-x-team.vercel.app", false),
            ("https://app-git-x-team.vercel.app.evil.com", false),
        ] {
            assert_eq!(matches(preview, text), expected, "{text}");
            assert_eq!(
                reference(preview.as_bytes(), text.as_bytes()),
                expected,
                "{text}"
            );
        }
        assert!(matches("*", ""));
        assert!(matches("**", "anything"));
        assert!(matches("ab*ba", "abba"));
        assert!(!matches("ab*ba", "aba"));
        assert!(matches("no-star", "no-star"));
        assert!(!matches("no-star", "no-star!"));
    }

    /// A megabyte of the hostile shape against a pattern with several stars. Backtracking takes
    /// time growing with the square of the length here (hours at this size); one pass takes
    /// milliseconds, so this test finishes only with the linear matcher.
    #[test]
    fn a_long_hostile_text_is_judged_in_one_pass() {
        let hostile = format!("https://{}", "-git-".repeat(1 << 18));
        assert!(hostile.len() > 1 << 20);
        assert!(!matches("https://*-git-*-team.vercel.app", &hostile));
        assert!(!matches("https://*-git-*-git-*-team.vercel.app", &hostile));
        let matching = format!("{hostile}-team.vercel.app");
        assert!(matches("https://*-git-*-team.vercel.app", &matching));
    }
}
