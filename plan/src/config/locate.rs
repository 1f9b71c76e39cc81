//! Finds the line and column of the value at a JSON path in the original text, so errors found
//! after parsing (duplicate names, port collisions) still point at the right line. serde_json
//! keeps no spans, and the document is already known to be valid JSON when this runs, so a small
//! scanner that skips values is enough.

use std::ops::Range;

use super::error::{JsonPath, PathSegment};

/// 1-based (line, column) of the value at `path`, or `None` if the path does not exist.
pub fn locate(text: &str, path: &JsonPath) -> Option<(usize, usize)> {
    value_span(text, path).map(|span| line_column(text, span.start))
}

/// Byte range of the value at `path`: the whole value when it fits on one line, else its first
/// character (an object's `{`), so an error's snippet stays one line long.
pub fn value_span(text: &str, path: &JsonPath) -> Option<Range<usize>> {
    let Range { start, end } = value_range(text, path)?;
    let value = text.get(start..end)?;
    Some(match value.find('\n') {
        None => start..end,
        Some(_) => start..start + value.chars().next().map_or(0, char::len_utf8),
    })
}

/// Byte range of the whole value at `path`, however many lines it spans.
pub fn value_range(text: &str, path: &JsonPath) -> Option<Range<usize>> {
    let mut scanner = Scanner::at_value(text, path)?;
    let start = scanner.at;
    scanner.skip_value()?;
    Some(start..scanner.at.min(text.len()))
}

/// Byte of the first character of the value at `path`, found without reading the value itself,
/// which may be cut short or nested deeper than any parser goes.
pub(super) fn value_start(text: &str, path: &JsonPath) -> Option<usize> {
    let at = Scanner::at_value(text, path)?.at;
    (at < text.len()).then_some(at)
}

/// Byte range of the value of the object member whose key ends at byte `key_end`. The value may
/// not be JSON (serde stops at an unknown key before reading its value, or its colon): one that
/// does not end as JSON does, or follows no colon, runs to the end of the text.
pub(super) fn member_value(text: &str, key_end: usize) -> Range<usize> {
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        at: key_end,
    };
    if scanner.expect(b':').is_none() {
        return key_end.min(text.len())..text.len();
    }
    scanner.whitespace();
    let start = scanner.at;
    let end = match scanner.skip_value() {
        Some(()) => scanner.at.min(text.len()),
        None => text.len(),
    };
    start..end
}

/// 1-based (line, column) of byte `offset`, columns counted in characters.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner at the first character of the value at `path` in `text`.
    fn at_value(text: &'a str, path: &JsonPath) -> Option<Self> {
        let mut scanner = Scanner {
            bytes: text.as_bytes(),
            at: 0,
        };
        scanner.whitespace();
        for segment in &path.0 {
            match segment {
                PathSegment::Key(key) => scanner.enter_key(key)?,
                PathSegment::Index(index) => scanner.enter_index(*index)?,
            }
        }
        Some(scanner)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.whitespace();
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    /// Moves to the value of `key` in the object starting here.
    fn enter_key(&mut self, key: &str) -> Option<()> {
        self.expect(b'{')?;
        loop {
            self.whitespace();
            if self.peek() != Some(b'"') {
                return None;
            }
            let name = self.string()?;
            self.expect(b':')?;
            self.whitespace();
            if name == key {
                return Some(());
            }
            self.skip_value()?;
            self.expect(b',')?;
        }
    }

    /// Moves to element `index` of the array starting here.
    fn enter_index(&mut self, index: usize) -> Option<()> {
        self.expect(b'[')?;
        for _ in 0..index {
            self.whitespace();
            self.skip_value()?;
            self.expect(b',')?;
        }
        self.whitespace();
        (self.peek() != Some(b']')).then_some(())
    }

    /// Reads a string literal, returning it unescaped only as far as key comparison needs.
    fn string(&mut self) -> Option<String> {
        self.expect(b'"')?;
        let start = self.at;
        while let Some(byte) = self.peek() {
            match byte {
                b'\\' => self.at += 2,
                b'"' => {
                    let raw = std::str::from_utf8(&self.bytes[start..self.at]).ok()?;
                    self.at += 1;
                    return serde_json::from_str(&format!("\"{raw}\"")).ok();
                }
                _ => self.at += 1,
            }
        }
        None
    }

    /// Moves past the value starting here; `None` if it is not one. A loop over the closers still
    /// awaited rather than a recursion: an unknown key's value reaches here unparsed (serde stops
    /// at the key), and it may be nested deeper than any stack, or close a bracket with the wrong
    /// one, which is refused rather than looped on. Every turn moves on or returns.
    fn skip_value(&mut self) -> Option<()> {
        let mut closers = Vec::new();
        loop {
            self.whitespace();
            match self.peek()? {
                b'"' => self.string().map(drop)?,
                open @ (b'{' | b'[') => {
                    self.at += 1;
                    closers.push(if open == b'{' { b'}' } else { b']' });
                }
                close @ (b'}' | b']') => {
                    if closers.pop() != Some(close) {
                        return None;
                    }
                    self.at += 1;
                }
                b',' | b':' if !closers.is_empty() => self.at += 1,
                _ => {
                    let start = self.at;
                    while !matches!(
                        self.peek(),
                        None | Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                    ) {
                        self.at += 1;
                    }
                    if self.at == start {
                        return None;
                    }
                }
            }
            if closers.is_empty() {
                return Some(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "{\n  \"name\": \"demo\",\n  \"services\": [\n    {\"name\": \"auth\"},\n    {\n      \"name\": \"core\", \"port\": 8080\n    }\n  ]\n}\n";

    #[test]
    fn finds_nested_values() {
        assert_eq!(locate(TEXT, &JsonPath::root().key("name")), Some((2, 11)));
        assert_eq!(
            locate(TEXT, &JsonPath::service(0).key("name")),
            Some((4, 14))
        );
        assert_eq!(
            locate(TEXT, &JsonPath::service(1).key("port")),
            Some((6, 31))
        );
    }

    #[test]
    fn missing_paths_are_none() {
        assert_eq!(locate(TEXT, &JsonPath::service(2)), None);
        assert_eq!(locate(TEXT, &JsonPath::root().key("nope")), None);
    }
}
