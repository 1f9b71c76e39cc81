//! serde reads a struct from a JSON array too, its fields by position (`["core"]` for
//! `{ "name": "core" }`): a form stackr.schema.json does not allow, whose meaning changes with
//! the order of the fields. Found by comparing the config as written with the config read,
//! serialized back: an array there where the read config has an object.

use serde_json::Value;

use super::error::JsonPath;

/// The path of the first array in `written` that `read` holds as an object.
pub fn first(written: &Value, read: &Value) -> Option<JsonPath> {
    find(written, read, JsonPath::root())
}

fn find(written: &Value, read: &Value, at: JsonPath) -> Option<JsonPath> {
    match (written, read) {
        (Value::Array(_), Value::Object(_)) => Some(at),
        (Value::Array(written), Value::Array(read)) => written
            .iter()
            .zip(read)
            .enumerate()
            .find_map(|(index, (w, r))| find(w, r, at.clone().index(index))),
        (Value::Object(written), Value::Object(read)) => written
            .iter()
            .find_map(|(key, w)| read.get(key).and_then(|r| find(w, r, at.clone().key(key)))),
        _ => None,
    }
}
