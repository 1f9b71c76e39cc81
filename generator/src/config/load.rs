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

/// serde_json's message without its " at line L column C" suffix (we print the position
/// ourselves), plus advice matching the kind of failure.
fn describe(err: &serde_json::Error) -> (String, String) {
    let full = err.to_string();
    let message = match full.rfind(" at line ") {
        Some(cut) => full[..cut].to_owned(),
        None => full,
    };
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
