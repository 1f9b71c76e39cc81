//! A lone surrogate escape in the config (`"\ud800"`): a character beyond U+FFFF is written as
//! two `\u` escapes, a first half (`\ud800`–`\udbff`) then a second (`\udc00`–`\udfff`), and
//! either half alone is no character, so no text of the config can hold it. serde_json says so
//! in its own words, as a syntax error, at a place beside the escape; this names the escape.

use std::ops::Range;
use std::path::Path;

use serde_json::error::Category;

use super::error::{ConfigError, JsonPath, Snippet};

/// The halves of a surrogate pair, as the code units their escapes name.
const FIRST_HALF: Range<u16> = 0xD800..0xDC00;
const SECOND_HALF: Range<u16> = 0xDC00..0xE000;

/// Bytes of a `\u` escape.
const ESCAPE: usize = r"\u0041".len();

/// The error for `err` when it is serde_json's about a lone surrogate escape: `stop` is the byte
/// of `text` after the last one serde_json read, `path` the value it was reading.
pub fn error(
    file: &Path,
    text: &str,
    path: &JsonPath,
    err: &serde_json::Error,
    stop: usize,
) -> Option<ConfigError> {
    let said = err.to_string();
    let about_a_surrogate = said.starts_with("lone leading surrogate in hex escape")
        || said.starts_with("unexpected end of hex escape");
    if err.classify() != Category::Syntax || !about_a_surrogate {
        return None;
    }
    // serde_json tells a first half alone only once it has read what follows it: up to an escape.
    let span = lone_escapes(text).find(|escape| escape.end + ESCAPE >= stop)?;
    let escape = &text[span.clone()];
    Some(ConfigError {
        file: file.to_owned(),
        path: path.clone(),
        message: format!(
            "`{escape}` is a lone surrogate: half of a character written as two `\\u` escapes, which alone stands for no character"
        ),
        help: "write the character itself (the file is UTF-8), or both escapes of its pair, `\\ud800`–`\\udbff` then `\\udc00`–`\\udfff` (U+1F600 is `\\ud83d\\ude00`); or remove the escape".to_owned(),
        snippet: Some(Box::new(Snippet {
            text: text.to_owned(),
            span,
            label: None,
        })),
    })
}

/// The byte ranges of the lone surrogate escapes of `text`'s strings, in order. Valid JSON up to
/// each: every `"` outside a string opens one.
fn lone_escapes(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let bytes = text.as_bytes();
    let mut in_string = false;
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            match bytes[at] {
                b'"' => {
                    in_string = !in_string;
                    at += 1;
                }
                b'\\' if in_string => {
                    let Some(unit) = code_unit(text, at) else {
                        // A one-character escape (`\n`, `\\`, `\"`).
                        at += 2;
                        continue;
                    };
                    let start = at;
                    at += ESCAPE;
                    if FIRST_HALF.contains(&unit)
                        && code_unit(text, at).is_some_and(|next| SECOND_HALF.contains(&next))
                    {
                        at += ESCAPE;
                    } else if FIRST_HALF.contains(&unit) || SECOND_HALF.contains(&unit) {
                        return Some(start..at);
                    }
                }
                _ => at += 1,
            }
        }
        None
    })
}

/// The code unit of the `\u` escape at byte `at` of `text`, if one is there.
fn code_unit(text: &str, at: usize) -> Option<u16> {
    let hex = text.get(at..at + ESCAPE)?.strip_prefix("\\u")?;
    u16::from_str_radix(hex, 16).ok()
}
