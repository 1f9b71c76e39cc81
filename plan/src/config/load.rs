//! Reading and deserializing `stackr.config.json` with errors that carry the JSON path (from
//! serde_path_to_error) and the line/column (from serde_json).

use std::path::Path;

use serde_json::error::Category;

use super::error::{ConfigError, JsonPath, PathSegment};
use super::types::StackrConfig;

/// The config file name at a project's root.
pub const CONFIG_FILE: &str = "stackr.config.json";

/// Reads and parses the config at `file`, returning the parsed config and its text (kept so later
/// validation errors can be located).
pub fn load_config_file(file: &Path) -> Result<(StackrConfig, String), ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|err| ConfigError {
        file: file.to_owned(),
        path: JsonPath::root(),
        position: None,
        message: format!("cannot read the config: {err}"),
        help: "run `stackr init NAME` to create a project, or run stackr from the project root"
            .to_owned(),
    })?;
    let config = parse_config(file, &text)?;
    Ok((config, text))
}

/// Deserializes config text; `file` only labels errors.
pub fn parse_config(file: &Path, text: &str) -> Result<StackrConfig, ConfigError> {
    if let Some(error) = not_an_object(file, text) {
        return Err(error);
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let located = |path: JsonPath, inner: serde_json::Error| {
        let (message, help) = describe(&inner);
        ConfigError {
            file: file.to_owned(),
            path,
            position: (inner.line() > 0).then(|| (inner.line(), inner.column())),
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
    let error = |position, message: &str, help: &str| ConfigError {
        file: file.to_owned(),
        path: JsonPath::root(),
        position,
        message: message.to_owned(),
        help: help.to_owned(),
    };
    const EXAMPLE: &str = "a config is an object like `{ \"name\": \"shop\", \"services\": [ { \"name\": \"auth\", \"kind\": \"auth\" } ] }`; `stackr init NAME` writes one";
    if text.starts_with('\u{feff}') {
        return Some(error(
            Some((1, 1)),
            "the file starts with a byte order mark (BOM), which JSON does not allow",
            "save the file as UTF-8 without a BOM",
        ));
    }
    let start = text.find(|c: char| !c.is_whitespace());
    let Some(start) = start else {
        return Some(error(None, "the config file is empty", EXAMPLE));
    };
    if text[start..].starts_with('{') {
        return None;
    }
    let kind = match serde_json::from_str::<serde_json::Value>(text).ok()? {
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Null => "null",
        serde_json::Value::Object(_) => return None,
    };
    let line = text[..start].matches('\n').count() + 1;
    let column = start - text[..start].rfind('\n').map_or(0, |n| n + 1) + 1;
    Some(error(
        Some((line, column)),
        &format!("the config must be a JSON object, but the file holds {kind}"),
        EXAMPLE,
    ))
}

/// serde's "floating point `1e+25`, expected u16" and "integer `70000`, expected u16" for a field
/// of an unsigned integer type, said as the range the field takes.
fn out_of_range_integer(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("invalid type: floating point `")
        .or_else(|| message.strip_prefix("invalid value: integer `"))?;
    let (value, expected) = rest.split_once("`, expected ")?;
    let max = match expected {
        "u16" => u64::from(u16::MAX),
        "u32" => u64::from(u32::MAX),
        "u64" | "usize" => u64::MAX,
        _ => return None,
    };
    Some(format!("`{value}` is not a whole number from 0 to {max}"))
}

/// serde_json's message without its " at line L column C" suffix (we print the position
/// ourselves), plus advice matching the kind of failure.
fn describe(err: &serde_json::Error) -> (String, String) {
    let full = err.to_string();
    let message = match full.rfind(" at line ") {
        Some(cut) => full[..cut].to_owned(),
        None => full,
    };
    let message = out_of_range_integer(&message).unwrap_or(message);
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
        Category::Data => "change the value to the expected type; stackr.schema.json describes each field",
        Category::Io => "check that the file is readable",
    };
    (message, help.to_owned())
}
