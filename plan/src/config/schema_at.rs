//! What stackr.schema.json takes at a JSON path, for errors serde cannot word well: it reads a
//! struct from an array too (by position), so an array where an object belongs is reported as
//! the first field it read from it; and a number beyond a float's range is a syntax error to it,
//! which knows no field. The schema is derived from the config's types, so it says what the
//! loader reads.

use serde_json::Value;

use super::error::{JsonPath, PathSegment};
use super::types::StackrConfig;

/// The config's schema as JSON, to be walked.
pub(super) fn config_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(StackrConfig)).unwrap_or(Value::Null)
}

/// Whether the value at `path` is an object and nothing else (not an array, which serde would
/// also read it from).
pub(super) fn takes_an_object(schema: &Value, path: &JsonPath) -> bool {
    alternatives_at(schema, path).is_some_and(|alternatives| {
        let types = || alternatives.iter().flat_map(|node| types_of(node));
        types().any(|t| t == "object") && !types().any(|t| t == "array")
    })
}

/// The Rust name of the unsigned integer type the value at `path` is read into (`u16`), as the
/// messages about numbers name it, when it is one.
pub(super) fn whole_number_type(schema: &Value, path: &JsonPath) -> Option<&'static str> {
    alternatives_at(schema, path)?
        .iter()
        .find_map(|node| match node.get("format")?.as_str()? {
            "uint16" => Some("u16"),
            "uint32" => Some("u32"),
            "uint64" => Some("u64"),
            "uint" => Some("usize"),
            _ => None,
        })
}

/// The schemas a value at `path` may match (an optional struct is one of a reference and null),
/// references followed; `None` when the path leaves the schema.
fn alternatives_at<'a>(schema: &'a Value, path: &JsonPath) -> Option<Vec<&'a Value>> {
    let mut nodes = alternatives(schema, schema);
    for segment in &path.0 {
        let next: Vec<&Value> = nodes
            .iter()
            .filter_map(|node| match segment {
                PathSegment::Key(key) => node.get("properties")?.get(key),
                PathSegment::Index(_) => node.get("items"),
            })
            .flat_map(|node| alternatives(schema, node))
            .collect();
        if next.is_empty() {
            return None;
        }
        nodes = next;
    }
    Some(nodes)
}

/// `node` with its reference followed, or each of its `anyOf`/`oneOf` alternatives so.
fn alternatives<'a>(schema: &'a Value, node: &'a Value) -> Vec<&'a Value> {
    let node = resolved(schema, node);
    match node.get("anyOf").or_else(|| node.get("oneOf")) {
        Some(Value::Array(options)) => options.iter().map(|o| resolved(schema, o)).collect(),
        _ => vec![node],
    }
}

/// The definition a local `$ref` (`#/$defs/DevSettings`) names, or `node` itself.
fn resolved<'a>(schema: &'a Value, node: &'a Value) -> &'a Value {
    node.get("$ref")
        .and_then(Value::as_str)
        .and_then(|reference| reference.strip_prefix('#'))
        .and_then(|pointer| schema.pointer(pointer))
        .unwrap_or(node)
}

/// The JSON types a schema node names (`"type": "object"` or `["array", "null"]`).
fn types_of(node: &Value) -> Vec<&str> {
    match node.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_whole_numbers_are_found_through_references() {
        let schema = config_schema();
        assert!(takes_an_object(&schema, &JsonPath::root()));
        assert!(takes_an_object(&schema, &JsonPath::service(3)));
        assert!(takes_an_object(&schema, &JsonPath::root().key("dev")));
        assert!(!takes_an_object(&schema, &JsonPath::root().key("services")));
        assert!(!takes_an_object(
            &schema,
            &JsonPath::service(0).key("roles")
        ));
        assert_eq!(
            whole_number_type(&schema, &JsonPath::service(0).key("port")),
            Some("u16")
        );
        assert_eq!(
            whole_number_type(&schema, &JsonPath::service(0).key("workerConcurrency")),
            Some("u32")
        );
        assert_eq!(
            whole_number_type(&schema, &JsonPath::service(0).key("name")),
            None
        );
    }
}
