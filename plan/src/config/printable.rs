//! A config error quotes what the config holds (a key, a value, a line of a broken file) and
//! names where it is; a terminal or CI log would obey a control character in any of it (ESC and
//! the one-character CSI start sequences that retitle the terminal, rewrite lines or set the
//! clipboard). Each is printed as text instead, and so are the characters that make text read
//! in another order than it is (direction overrides and isolates).

use std::borrow::Cow;

/// A character printed as its escape: a control character, or one that reorders the text shown.
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every control character (and direction override) written as its Rust escape
/// (`\u{1b}`, `\n`): for a message, a help or a key, which are one line each.
pub fn escaped(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unprintable) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if unprintable(c) {
                    c.escape_default().collect()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// [`escaped`], but for a message of several lines: its line breaks stay.
pub fn escaped_but_line_breaks(text: &str) -> String {
    text.split('\n').map(escaped).collect::<Vec<_>>().join("\n")
}

/// The text of a config as quoted under an error, its control characters (and direction
/// overrides) masked where they stand: each is replaced by one character of the same UTF-8
/// length (`?`, `¿` for the two-byte C1 controls, `\u{fffd}` for the three-byte overrides), so
/// the byte offsets an error points at, and the columns, stay right.
/// Line breaks and tabs stay; a carriage return only before a line break.
pub fn masked(text: &str) -> Cow<'_, str> {
    let mut chars = text.chars().peekable();
    let mut masked = String::with_capacity(text.len());
    let mut changed = false;
    while let Some(c) = chars.next() {
        let kept = match c {
            '\n' | '\t' => true,
            '\r' => chars.peek() == Some(&'\n'),
            c => !unprintable(c),
        };
        if kept {
            masked.push(c);
        } else {
            changed = true;
            masked.push(match c.len_utf8() {
                1 => '?',
                2 => '¿',
                _ => '\u{fffd}',
            });
        }
    }
    if changed {
        Cow::Owned(masked)
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_or_masked_in_place() {
        assert_eq!(
            escaped("a\u{1b}]0;t\u{7}\u{9b}\n"),
            "a\\u{1b}]0;t\\u{7}\\u{9b}\\n"
        );
        assert!(matches!(escaped("plain é"), Cow::Borrowed(_)));
        assert_eq!(
            escaped_but_line_breaks("a\u{1b}\nb\r\n"),
            "a\\u{1b}\nb\\r\n"
        );
        let text = "a\u{1b}b\u{9b}c\u{7f}\r\nd\re\tf\n";
        let shown = masked(text);
        assert_eq!(shown, "a?b¿c?\r\nd?e\tf\n");
        assert_eq!(shown.len(), text.len());
        assert_eq!(shown.chars().count(), text.chars().count());
    }

    /// Direction overrides and isolates drive no terminal, but make the text shown read in
    /// another order than it is (a quoted value that looks like another): shown as escapes too.
    #[test]
    fn direction_overrides_are_escaped_or_masked_in_place() {
        assert_eq!(escaped("a\u{202e}b\u{2066}"), "a\\u{202e}b\\u{2066}");
        let text = "x\u{202e}y\u{200f}z";
        let shown = masked(text);
        assert_eq!(shown, "x\u{fffd}y\u{fffd}z");
        assert_eq!(shown.len(), text.len());
    }
}
