//! Reading and deserializing `stackr.config.json` with errors that carry the JSON path (from
//! serde_path_to_error) and the line/column (from serde_json).

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_json::error::Category;

use super::error::{ConfigError, JsonPath, PathSegment, Snippet};
use super::types::StackrConfig;

/// The config file name at a project's root.
pub const CONFIG_FILE: &str = "stackr.config.json";

/// Reads and parses the config at `file`, returning the parsed config and its text (kept so later
/// validation errors can be located).
pub fn load_config_file(file: &Path) -> Result<(StackrConfig, String), ConfigError> {
    let unlocated = |message: String, help: &str| ConfigError {
        file: file.to_owned(),
        path: JsonPath::root(),
        snippet: None,
        message,
        help: help.to_owned(),
    };
    // Not through a link: an error quotes the file, and a link could lead to any file on the
    // machine; a flake's copy of the project in the Nix store could not follow one out of it.
    let bytes = crate::regular_file::read_unlinked(file).map_err(|err| {
        let help = if err.kind() == std::io::ErrorKind::NotFound {
            let dir = file.parent().unwrap_or(Path::new("."));
            project_above_hint(dir).unwrap_or_else(|| {
                "run `stackr init NAME` to create a project, or run stackr from the project root"
                    .to_owned()
            })
        } else {
            "make it a regular file holding the project's config".to_owned()
        };
        unlocated(format!("cannot read the config: {err}"), &help)
    })?;
    let text = String::from_utf8(bytes).map_err(|err| {
        let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        unlocated(
            format!("not UTF-8 text (first bad byte: line {line}, byte {column})"),
            "save the file as UTF-8",
        )
    })?;
    let config = parse_config(file, &text)?;
    Ok((config, text))
}

/// For a command run in a folder without a config: when a folder above `dir` holds one (`dir` is
/// a project's subfolder, say `services/core`), how to run the command there instead.
pub fn project_above_hint(dir: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let mut up = PathBuf::from("..");
    for ancestor in dir.ancestors().skip(1) {
        if ancestor.join(CONFIG_FILE).is_file() {
            // Relative to the folder the command ran in when that is the one searched, so the
            // hint reads as what to type; an absolute path for a folder given with -C.
            let root = if dir == std::env::current_dir().ok()? {
                up
            } else {
                ancestor.to_owned()
            };
            let root = root.display();
            return Some(format!(
                "this folder is inside the project at {root}: run stackr there, or pass -C {root}"
            ));
        }
        up.push("..");
    }
    None
}

/// Deserializes config text; `file` only labels errors.
pub fn parse_config(file: &Path, text: &str) -> Result<StackrConfig, ConfigError> {
    if let Some(error) = not_an_object(file, text) {
        return Err(error);
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let located = |path: JsonPath, inner: serde_json::Error| {
        let schema = super::schema_at::config_schema();
        if let Some(error) = an_array_for_an_object(file, text, &schema, &path) {
            return error;
        }
        let stop = serde_offset(text, &inner);
        if let Some(error) = super::lone_surrogate::error(file, text, &path, &inner, stop) {
            return error;
        }
        let span = serde_span(text, &inner, &inner.to_string());
        let written = number_as_written(&text[span.clone()]);
        let out_of_range = inner.to_string().starts_with(NUMBER_OUT_OF_RANGE);
        let (message, help) = match (out_of_range, name_of_wrong_type(text, &inner)) {
            (true, _) => (
                number_out_of_range(
                    written.unwrap_or_default(),
                    super::schema_at::whole_number_type(&schema, &path),
                ),
                WRONG_TYPE_HELP.to_owned(),
            ),
            (false, Some(found)) => (
                format!("invalid type: {found}, expected a string"),
                WRONG_TYPE_HELP.to_owned(),
            ),
            (false, None) => describe(&inner, written),
        };
        // A number JSON allows but a float cannot hold is a syntax error to serde_json: it is
        // the field's value that is wrong, at the field.
        let syntax = matches!(inner.classify(), Category::Syntax | Category::Eof)
            && !message.starts_with("invalid type")
            && !out_of_range;
        let shown = if message.starts_with("unknown field") {
            without_member_value(text, span.end)
        } else {
            text.to_owned()
        };
        ConfigError {
            file: file.to_owned(),
            // Where the parser was says little about a syntax error; the position says it all.
            path: if syntax { JsonPath::root() } else { path },
            snippet: Some(Box::new(Snippet {
                text: shown,
                span,
                label: syntax.then(|| "not valid JSON".to_owned()),
            })),
            message,
            help,
        }
    };
    let config: StackrConfig =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
            let path = convert_path(err.path());
            located(path, err.into_inner())
        })?;
    // Trailing characters after the document.
    deserializer
        .end()
        .map_err(|err| located(JsonPath::root(), err))?;
    let written = serde_json::from_str(text);
    let read = serde_json::to_value(&config);
    if let (Ok(written), Ok(read)) = (written, read) {
        if let Some(path) = super::objects_as_arrays::first(&written, &read) {
            return Err(ConfigError::at_path(
                file,
                text,
                path,
                AN_ARRAY_FOR_AN_OBJECT,
                WRONG_TYPE_HELP,
            ));
        }
    }
    Ok(config)
}

fn convert_path(path: &serde_path_to_error::Path) -> JsonPath {
    use serde_path_to_error::Segment;
    JsonPath(
        path.iter()
            .filter_map(|segment| match segment {
                Segment::Seq { index } => Some(PathSegment::Index(*index)),
                Segment::Map { key } => Some(PathSegment::Key(key.clone())),
                Segment::Enum { variant } => Some(PathSegment::Key(variant.clone())),
                Segment::Unknown => None,
            })
            .collect(),
    )
}

/// Files that are no JSON object at all, with what is wrong in words serde would not find: empty,
/// starting with a byte order mark, or holding another kind of JSON value.
fn not_an_object(file: &Path, text: &str) -> Option<ConfigError> {
    let error = |span: Option<Range<usize>>, label: &str, message: &str, help: &str| ConfigError {
        file: file.to_owned(),
        path: JsonPath::root(),
        snippet: span.map(|span| {
            Box::new(Snippet {
                text: text.to_owned(),
                span,
                label: Some(label.to_owned()),
            })
        }),
        message: message.to_owned(),
        help: help.to_owned(),
    };
    const EXAMPLE: &str = "a config is an object like `{ \"name\": \"shop\", \"services\": [ { \"name\": \"auth\", \"kind\": \"auth\" } ] }`; `stackr init NAME` writes one";
    if text.starts_with('\u{feff}') {
        return Some(error(
            Some(0..'\u{feff}'.len_utf8()),
            "byte order mark",
            "the file starts with a byte order mark (BOM), which JSON does not allow",
            "save the file as UTF-8 without a BOM",
        ));
    }
    let start = text.find(|c: char| !c.is_whitespace());
    let Some(start) = start else {
        return Some(error(None, "", "the config file is empty", EXAMPLE));
    };
    if text[start..].starts_with('{') {
        return None;
    }
    let kind = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Array(_)) => "an array",
        Ok(serde_json::Value::String(_)) => "a string",
        Ok(serde_json::Value::Number(_)) => "a number",
        Ok(serde_json::Value::Bool(_)) => "a boolean",
        Ok(serde_json::Value::Null) => "null",
        Ok(serde_json::Value::Object(_)) => return None,
        // An array cut short or nested too deep to parse is an array all the same (serde would
        // read the config's fields from it by position, and name the first it found wrong).
        Err(_) if text[start..].starts_with('[') => "an array",
        Err(_) => return None,
    };
    let end = text.trim_end().len();
    let first_line_end = text[start..end].find('\n').map_or(end, |n| start + n);
    Some(error(
        Some(start..first_line_end),
        &format!("{kind}, not an object"),
        &format!("the config must be a JSON object, but the file holds {kind}"),
        EXAMPLE,
    ))
}

/// What serde_json found where one of a field's names (an enum's variant) belongs, when that is
/// a number, array, boolean or null: it reports those as the syntax error "expected value", though
/// the text is valid JSON.
fn name_of_wrong_type(text: &str, err: &serde_json::Error) -> Option<&'static str> {
    if err.classify() != Category::Syntax
        // Parsed whole (`IgnoredAny` lets a lone surrogate escape through).
        || serde_json::from_str::<serde_json::Value>(text).is_err()
    {
        return None;
    }
    let line_start = match err.line() {
        0 | 1 => 0,
        line => text.match_indices('\n').nth(line - 2)?.0 + 1,
    };
    // The column is 1-based and names the value's first character.
    let first = text
        .get(line_start + err.column().checked_sub(1)?..)?
        .chars()
        .next()?;
    let found = match first {
        '-' | '0'..='9' => "a number",
        '[' => "an array",
        't' | 'f' => "a boolean",
        'n' => "null",
        _ => return None,
    };
    Some(found)
}

/// serde's "floating point `1e+25`, expected u16" and "integer `70000`, expected u16" for a field
/// of an unsigned integer type, said as the range the field takes. The number is quoted as
/// `written` in the config when known: serde quotes the float it read (`-0` as `-0.0`, `1e5` as
/// `100000.0`), which is not in the file.
fn out_of_range_integer(message: &str, written: Option<&str>) -> Option<String> {
    let rest = message
        .strip_prefix("invalid type: floating point `")
        .or_else(|| message.strip_prefix("invalid value: integer `"))?;
    let (value, expected) = rest.split_once("`, expected ")?;
    let value = written.unwrap_or(value);
    Some(format!("`{value}` is not {}", whole_numbers(expected)?))
}

/// How serde_json's message starts for a number beyond a float's range (`1e400`), which JSON
/// allows.
const NUMBER_OUT_OF_RANGE: &str = "number out of range";

/// The message for a number beyond a float's range, `written` in the config, at a field of
/// `whole_number_type` (`u16`) when it is one.
fn number_out_of_range(written: &str, whole_number_type: Option<&str>) -> String {
    match whole_number_type.and_then(whole_numbers) {
        Some(numbers) => format!("`{written}` is not {numbers}"),
        None => format!("the number `{written}` is beyond the range of numbers stackr reads"),
    }
}

/// `token` when it is a JSON number as the config writes it (the span of a number serde refused).
fn number_as_written(token: &str) -> Option<&str> {
    let digits = token.strip_prefix('-').unwrap_or(token);
    let number = digits.starts_with(|c: char| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    number.then_some(token)
}

/// An array on the way to `path` (where serde failed) that stands where an object belongs: serde
/// read the object's fields from it by position and failed at one of them, which would be named
/// instead ("expected a string" at `services[0][0]`). The outermost such, pointed at its `[`; it
/// may be cut short or nested deeper than any parser goes.
fn an_array_for_an_object(
    file: &Path,
    text: &str,
    schema: &serde_json::Value,
    path: &JsonPath,
) -> Option<ConfigError> {
    (0..=path.0.len()).find_map(|length| {
        let prefix = JsonPath(path.0[..length].to_vec());
        let start = super::locate::value_start(text, &prefix)?;
        let array = text.as_bytes()[start] == b'[';
        (array && super::schema_at::takes_an_object(schema, &prefix)).then(|| ConfigError {
            file: file.to_owned(),
            path: prefix,
            snippet: Some(Box::new(Snippet {
                text: text.to_owned(),
                span: start..start + 1,
                label: None,
            })),
            message: AN_ARRAY_FOR_AN_OBJECT.to_owned(),
            help: WRONG_TYPE_HELP.to_owned(),
        })
    })
}

/// How a message names the values of a field of an unsigned integer type.
const WHOLE_NUMBER: &str = "a whole number";

/// The values of the unsigned integer type serde names (`u16`), in JSON's words: the user writes
/// numbers, not Rust types.
fn whole_numbers(rust_type: &str) -> Option<String> {
    let max = match rust_type {
        "u16" => u64::from(u16::MAX),
        "u32" => u64::from(u32::MAX),
        "u64" | "usize" => u64::MAX,
        _ => return None,
    };
    Some(format!("{WHOLE_NUMBER} from 0 to {max}"))
}

/// serde's "invalid type: sequence, expected struct ServiceConfig" in JSON's words: an array
/// for a sequence, an object for a map or a struct (whose Rust name means nothing to the user),
/// the range of whole numbers for an unsigned integer type (`u16`).
fn in_json_terms(message: &str) -> Option<String> {
    let rest = message.strip_prefix("invalid type: ")?;
    // From the end: a string found quotes the value, which may hold the separator.
    let (found, expected) = rest.rsplit_once(", expected ")?;
    let found = match found {
        "sequence" => "an array",
        "map" => "an object",
        other => other,
    };
    let expected = match expected {
        "a sequence" => "an array".to_owned(),
        "a map" => "an object".to_owned(),
        other if other.starts_with("struct ") => "an object".to_owned(),
        other => whole_numbers(other).unwrap_or_else(|| other.to_owned()),
    };
    Some(format!("invalid type: {found}, expected {expected}"))
}

/// Whether `message` (in JSON's words) says a number field holds a string that is a number
/// (`"8888"`): written in quotes, which JSON reads as text.
fn a_quoted_number(message: &str) -> bool {
    message
        .strip_prefix("invalid type: string \"")
        .and_then(|rest| rest.split_once(&format!("\", expected {WHOLE_NUMBER}")))
        .is_some_and(|(value, _)| serde_json::from_str::<serde_json::Number>(value).is_ok())
}

/// An array written where an object belongs, which serde would read field by field.
const AN_ARRAY_FOR_AN_OBJECT: &str = "invalid type: an array, expected an object";

/// What to do about a value of the wrong type.
const WRONG_TYPE_HELP: &str =
    "change the value to the expected type; stackr.schema.json describes each field";

/// serde_json's message without its " at line L column C" suffix (we print the position
/// ourselves), plus advice matching the kind of failure. `written` is the number the error is
/// about as the config writes it, when it is about one.
fn describe(err: &serde_json::Error, written: Option<&str>) -> (String, String) {
    let full = err.to_string();
    let message = match full.rfind(" at line ") {
        Some(cut) => full[..cut].to_owned(),
        None => full,
    };
    let message = out_of_range_integer(&message, written)
        .or_else(|| in_json_terms(&message))
        .unwrap_or(message);
    let help = match err.classify() {
        Category::Syntax | Category::Eof => {
            "the file is not valid JSON: fix the syntax at this position (trailing commas and comments are not allowed)"
        }
        Category::Data if message.starts_with("unknown field") => {
            "remove or rename this field; stackr.schema.json lists every allowed field"
        }
        Category::Data if message.starts_with("missing field") => {
            "add the missing field; stackr.schema.json lists the required fields"
        }
        Category::Data if message.starts_with("duplicate field") => {
            "keep one of the two: a field may appear once in an object"
        }
        Category::Data if message.starts_with("duplicate key") => {
            "keep one of the two: a key may appear once in an object"
        }
        Category::Data if a_quoted_number(&message) => {
            "write the number without quotes; stackr.schema.json describes each field"
        }
        Category::Data => WRONG_TYPE_HELP,
        Category::Io => "check that the file is readable",
    };
    (message, help.to_owned())
}

/// The byte of `text` after the last one serde_json read before `err` (its line and column),
/// moved on to the next character's start when it is inside one.
fn serde_offset(text: &str, err: &serde_json::Error) -> usize {
    let line_start = match err.line() {
        0 | 1 => 0,
        line => text
            .match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(at, _)| at + 1),
    };
    let mut end = (line_start + err.column()).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    end
}

/// `text` with the value of the member whose key ends at `key_end` replaced by `"…"`: an unknown
/// field's value means nothing to stackr, and may be a secret that has no place in the config
/// (an error must not copy it to a terminal or a CI log). Lines stay where they were.
fn without_member_value(text: &str, key_end: usize) -> String {
    let value = super::locate::member_value(text, key_end);
    let newlines = "\n".repeat(text[value.clone()].matches('\n').count());
    format!(
        "{}\"…\"{newlines}{}",
        &text[..value.start],
        &text[value.end..]
    )
}

/// The bytes serde_json's error points at. Its line and column are those of the last byte it
/// read, which ends the offending token: a string (an unknown key, a value of the wrong type), a
/// number or literal, or one structural character. A trailing comma is pointed at itself rather
/// than at the bracket after it.
fn serde_span(text: &str, err: &serde_json::Error, message: &str) -> Range<usize> {
    let end = serde_offset(text, err);
    let line_start = text[..end].rfind('\n').map_or(0, |at| at + 1);
    let bytes = text.as_bytes();
    if message.starts_with("trailing comma") {
        if let Some(comma) = text[..end].rfind(',') {
            return comma..comma + 1;
        }
    }
    let Some(&last) = end.checked_sub(1).and_then(|i| bytes.get(i)) else {
        return end..end;
    };
    let line = line_start..end;
    let start = match last {
        b'"' => {
            // Back to the opening quote, past escaped ones.
            let mut at = end - 1;
            loop {
                match text[line.start..at].rfind('"') {
                    Some(quote) if quote > 0 && bytes[line.start + quote - 1] == b'\\' => {
                        at = line.start + quote;
                    }
                    Some(quote) => break line.start + quote,
                    None => break end - 1,
                }
            }
        }
        b'{' | b'}' | b'[' | b']' | b',' | b':' => end - 1,
        _ => {
            let token = text[line.start..end]
                .rfind(|c: char| c.is_whitespace() || "{}[],:\"".contains(c))
                .map_or(line.start, |at| line.start + at + 1);
            token.min(end - 1)
        }
    };
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(text: &str) -> String {
        parse_config(Path::new("stackr.config.json"), text)
            .expect_err("the config must be refused")
            .report(false)
    }

    #[test]
    fn syntax_errors_point_at_the_offending_character() {
        insta::assert_snapshot!(
            "comment",
            report("{\n  // the shop\n  \"name\": \"shop\"\n}\n")
        );
        insta::assert_snapshot!("cut_short", report("{\n  \"name\": \"shop\",\n"));
    }

    /// An unknown field may hold a secret that has no place in the config: the snippet shows
    /// its key, not its value, whatever the value's shape.
    #[test]
    fn an_unknown_fields_value_is_not_shown() {
        let text = "{\n  \"name\": \"shop\",\n  \"services\": [ { \"name\": \"auth\", \"kind\": \"auth\", \"clientSecret\": {\n    \"value\": \"s3cret\"\n  } } ]\n}\n";
        let report = report(text);
        assert!(!report.contains("s3cret"), "{report}");
        insta::assert_snapshot!(report);
    }

    /// serde_json takes a value of another JSON type where one of a field's names belongs
    /// (`"kind": 5`) for a syntax error; the text is valid JSON, so the report says the type is
    /// wrong, at the field, instead of sending the user to look for a syntax error.
    #[test]
    fn a_name_of_the_wrong_type_is_no_syntax_error() {
        for (value, found) in [
            ("5", "a number"),
            ("-1.5", "a number"),
            ("[\"auth\"]", "an array"),
            ("true", "a boolean"),
            ("null", "null"),
        ] {
            let text = format!(
                "{{\n  \"name\": \"shop\",\n  \"services\": [ {{ \"name\": \"auth\", \"kind\": {value} }} ]\n}}\n"
            );
            let error = parse_config(Path::new("stackr.config.json"), &text).unwrap_err();
            assert_eq!(error.path.to_string(), "services[0].kind", "{value}");
            let report = error.report(false);
            assert!(
                report.contains(&format!("invalid type: {found}, expected a string"))
                    && !report.contains("not valid JSON"),
                "{value}: {report}"
            );
        }
        // A lone surrogate escape is an error of its own, whatever follows it.
        let report = report("{ \"name\": \"a\\udc00b\", \"services\": [] }");
        assert!(
            report.contains("lone surrogate") && !report.contains("invalid type"),
            "{report}"
        );
    }

    /// A lone surrogate escape (half of a character written as two `\u` escapes) was reported in
    /// serde's words, "lone leading surrogate in hex escape" (for a second half) or "unexpected end
    /// of hex escape" (for a first half), as a syntax error at a place beside it. It is named, at
    /// its field, pointed at itself, and what to write instead is said.
    #[test]
    fn a_lone_surrogate_escape_is_named_and_pointed_at() {
        // The escape's column on the value's line, after `  "name": `.
        for (value, escape, column) in [
            (r#""shop\ud800""#, r"\ud800", 16),
            (r#""shop\udc00x""#, r"\udc00", 16),
            (r#""\ud800\n""#, r"\ud800", 12),
            (r#""\ud800\u0041""#, r"\ud800", 12),
            (r#""\ud800\ud800""#, r"\ud800", 12),
            (r#""\\\ud800é""#, r"\ud800", 14),
            // An escaped backslash, then the text `ud800`: the escape is the second half after it.
            (r#""\\ud800\udfff""#, r"\udfff", 19),
        ] {
            let text = format!("{{\n  \"name\": {value},\n  \"services\": []\n}}\n");
            let error = parse_config(Path::new("stackr.config.json"), &text).unwrap_err();
            assert_eq!(error.path.to_string(), "name", "{value}");
            let snippet = error.snippet.as_deref().expect("located");
            assert_eq!(&snippet.text[snippet.span.clone()], escape, "{value}");
            assert_eq!(error.position(), Some((2, column)), "{value}");
            assert!(
                error
                    .message
                    .contains(&format!("`{escape}` is a lone surrogate")),
                "{value}: {}",
                error.message
            );
            assert!(
                error.help.contains("the character itself"),
                "{value}: {}",
                error.help
            );
        }
        insta::assert_snapshot!(report(
            "{\n  \"name\": \"shop\",\n  \"stateDir\": \".st\\ud800ate\",\n  \"services\": []\n}\n"
        ));
    }

    /// A wrong type is said in JSON's words: an object or an array, not serde's map or sequence,
    /// nor the name of the Rust type the value is read into (`struct ServiceConfig`).
    #[test]
    fn wrong_types_are_named_as_json_names_them() {
        for (text, said) in [
            (
                r#"{ "name": "shop", "services": ["core, expected x"] }"#,
                r#"invalid type: string "core, expected x", expected an object"#,
            ),
            (
                r#"{ "name": ["shop"], "services": [] }"#,
                "invalid type: an array, expected a string",
            ),
            (
                r#"{ "name": "shop", "services": [true] }"#,
                "invalid type: boolean `true`, expected an object",
            ),
            (
                r#"{ "name": {}, "services": [] }"#,
                "invalid type: an object, expected a string",
            ),
            (
                r#"{ "name": "shop", "services": {} }"#,
                "invalid type: an object, expected an array",
            ),
        ] {
            let report = report(text);
            assert!(report.contains(said), "{text}: {report}");
        }
    }

    /// A number field given another JSON type was said in serde's words, the Rust type the value
    /// is read into (`expected u16`); it is said as the range of whole numbers the field takes,
    /// at the field, and a number written as a string is told to lose its quotes.
    #[test]
    fn a_number_field_of_another_type_names_the_numbers_it_takes() {
        for (field, value, said, help) in [
            (
                "port",
                "\"8888\"",
                "invalid type: string \"8888\", expected a whole number from 0 to 65535",
                "write the number without quotes",
            ),
            (
                "port",
                "true",
                "invalid type: boolean `true`, expected a whole number from 0 to 65535",
                "change the value to the expected type",
            ),
            (
                "workerConcurrency",
                "\"ten\"",
                "invalid type: string \"ten\", expected a whole number from 0 to 4294967295",
                "change the value to the expected type",
            ),
        ] {
            let text = format!(
                "{{\n  \"name\": \"shop\",\n  \"services\": [ {{ \"name\": \"auth\", \"kind\": \"auth\", \"{field}\": {value} }} ]\n}}\n"
            );
            let error = parse_config(Path::new("stackr.config.json"), &text).unwrap_err();
            assert_eq!(error.path.to_string(), format!("services[0].{field}"));
            assert_eq!(error.message, said, "{value}");
            assert!(error.help.starts_with(help), "{value}: {}", error.help);
        }
    }

    /// serde reads a struct from an array too, its fields by position: stackr.schema.json allows
    /// only objects, and an array read so changes meaning with the order of the fields.
    #[test]
    fn an_object_written_as_an_array_is_refused() {
        for (text, at) in [
            (
                r#"{ "name": "shop", "services": [{ "name": "auth", "kind": "auth" }, ["core"]] }"#,
                "services[1]",
            ),
            (
                r#"{ "name": "shop", "dev": [15440, 17380], "services": [] }"#,
                "dev",
            ),
            // Too few fields by position: serde says "invalid length 0, expected struct
            // ServiceConfig with 14 elements", a Rust name and a count that mean nothing here.
            (r#"{ "name": "shop", "services": [[]] }"#, "services[0]"),
            (r#"{ "name": "shop", "dev": [], "services": [] }"#, "dev"),
        ] {
            let error = parse_config(Path::new("stackr.config.json"), text).unwrap_err();
            assert_eq!(error.path.to_string(), at, "{text}");
            assert_eq!(error.message, "invalid type: an array, expected an object");
        }
    }

    /// The value of an unknown field is not parsed before the error: however broken (a bracket
    /// closed by the wrong one, a file cut short) or deeply nested it is, the report is made, and
    /// does not show it.
    #[test]
    fn a_broken_or_deep_unknown_value_is_reported_hidden() {
        let deep = 1_000_000;
        for value in [
            "{ \"secret\": [\"s3cret\" }".to_owned(),
            "[\"s3cret\", ]]]".to_owned(),
            "{ \"s3cret\"".to_owned(),
            format!("{}\"s3cret\"{}", "[".repeat(deep), "]".repeat(deep)),
        ] {
            let text = format!(
                "{{\n  \"name\": \"shop\",\n  \"bogus\": {value},\n  \"services\": []\n}}\n"
            );
            let report = report(&text);
            assert!(report.contains("unknown field `bogus`"), "{report}");
            assert!(!report.contains("s3cret"), "{report}");
        }
        // No colon after the key: serde stops at the key all the same.
        let report = report("{\n  \"name\": \"shop\",\n  \"bogus\" \"s3cret\"\n}\n");
        assert!(report.contains("unknown field `bogus`"), "{report}");
        assert!(!report.contains("s3cret"), "{report}");
    }
}
