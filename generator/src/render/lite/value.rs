//! The context the lite renderer reads: a typed context serialized into a tree whose struct
//! keys are the `&'static str` field names and whose objects are small vectors. Built once per
//! render, it costs a third of what `serde_json::Value` does (no key strings, no hashing).
//! `Serialize` writes it back as the JSON serde_json would write for the same context (for
//! `json_encode` and `nix_str`).

use std::borrow::Cow;

use serde::ser::{self, Serialize};
use serde_json::Number;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(Cow<'static, str>, Value)>),
}

impl Value {
    /// Serializes `context`, or fails on what the tree cannot hold (then tera renders).
    pub fn from_serialize<T: Serialize + ?Sized>(context: &T) -> Result<Self, Unrepresentable> {
        context.serialize(Builder)
    }

    /// Sets `key` of an object (in place when present, else last, as serde_json's map does).
    pub fn insert(&mut self, key: &'static str, value: Value) {
        if let Value::Object(entries) = self {
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some((_, existing)) => *existing = value,
                None => entries.push((Cow::Borrowed(key), value)),
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl Serialize for Value {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

/// A value the tree does not hold (bytes, tuples, enum variants with fields, non-string map
/// keys): no template context has one.
#[derive(Debug)]
pub struct Unrepresentable(String);

impl std::fmt::Display for Unrepresentable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unrepresentable {}

impl ser::Error for Unrepresentable {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

fn refuse<T>(what: &str) -> Result<T, Unrepresentable> {
    Err(Unrepresentable(format!("{what} in a template context")))
}

struct Builder;

/// Collects a sequence or a struct/map being serialized.
pub struct Collect {
    items: Vec<Value>,
    entries: Vec<(Cow<'static, str>, Value)>,
    pending_key: Option<Cow<'static, str>>,
}

impl Collect {
    fn new(len: Option<usize>) -> Self {
        Self {
            items: Vec::with_capacity(len.unwrap_or(0)),
            entries: Vec::new(),
            pending_key: None,
        }
    }

    fn with_fields(len: usize) -> Self {
        Self {
            items: Vec::new(),
            entries: Vec::with_capacity(len),
            pending_key: None,
        }
    }
}

macro_rules! numbers {
    ($($method:ident: $ty:ty as $wide:ty),* $(,)?) => {$(
        fn $method(self, v: $ty) -> Result<Value, Unrepresentable> {
            Ok(Value::Number(Number::from(v as $wide)))
        }
    )*};
}

impl ser::Serializer for Builder {
    type Ok = Value;
    type Error = Unrepresentable;
    type SerializeSeq = Collect;
    type SerializeTuple = ser::Impossible<Value, Unrepresentable>;
    type SerializeTupleStruct = ser::Impossible<Value, Unrepresentable>;
    type SerializeTupleVariant = ser::Impossible<Value, Unrepresentable>;
    type SerializeMap = Collect;
    type SerializeStruct = Collect;
    type SerializeStructVariant = ser::Impossible<Value, Unrepresentable>;

    numbers!(
        serialize_i8: i8 as i64, serialize_i16: i16 as i64, serialize_i32: i32 as i64,
        serialize_i64: i64 as i64, serialize_u8: u8 as u64, serialize_u16: u16 as u64,
        serialize_u32: u32 as u64, serialize_u64: u64 as u64,
    );

    fn serialize_bool(self, v: bool) -> Result<Value, Unrepresentable> {
        Ok(Value::Bool(v))
    }

    fn serialize_f32(self, v: f32) -> Result<Value, Unrepresentable> {
        self.serialize_f64(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<Value, Unrepresentable> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn serialize_char(self, v: char) -> Result<Value, Unrepresentable> {
        Ok(Value::String(v.to_string()))
    }

    fn serialize_str(self, v: &str) -> Result<Value, Unrepresentable> {
        Ok(Value::String(v.to_owned()))
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<Value, Unrepresentable> {
        refuse("bytes")
    }

    fn serialize_none(self) -> Result<Value, Unrepresentable> {
        Ok(Value::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, Unrepresentable> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Value, Unrepresentable> {
        Ok(Value::Null)
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, Unrepresentable> {
        Ok(Value::Null)
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, Unrepresentable> {
        Ok(Value::String(variant.to_owned()))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Value, Unrepresentable> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, Unrepresentable> {
        Ok(Value::Object(vec![(
            Cow::Borrowed(variant),
            value.serialize(self)?,
        )]))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Collect, Unrepresentable> {
        Ok(Collect::new(len))
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unrepresentable> {
        refuse("a tuple")
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unrepresentable> {
        refuse("a tuple struct")
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unrepresentable> {
        refuse("a tuple variant")
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Collect, Unrepresentable> {
        Ok(Collect::with_fields(len.unwrap_or(0)))
    }

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Collect, Unrepresentable> {
        Ok(Collect::with_fields(len))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unrepresentable> {
        refuse("a struct variant")
    }
}

impl ser::SerializeSeq for Collect {
    type Ok = Value;
    type Error = Unrepresentable;

    fn serialize_element<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), Unrepresentable> {
        self.items.push(value.serialize(Builder)?);
        Ok(())
    }

    fn end(self) -> Result<Value, Unrepresentable> {
        Ok(Value::Array(self.items))
    }
}

impl ser::SerializeStruct for Collect {
    type Ok = Value;
    type Error = Unrepresentable;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unrepresentable> {
        self.entries
            .push((Cow::Borrowed(key), value.serialize(Builder)?));
        Ok(())
    }

    fn end(self) -> Result<Value, Unrepresentable> {
        Ok(Value::Object(self.entries))
    }
}

impl ser::SerializeMap for Collect {
    type Ok = Value;
    type Error = Unrepresentable;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unrepresentable> {
        let Value::String(key) = key.serialize(Builder)? else {
            return refuse("a map key that is not a string");
        };
        self.pending_key = Some(Cow::Owned(key));
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unrepresentable> {
        let Some(key) = self.pending_key.take() else {
            return refuse("a map value without its key");
        };
        let value = value.serialize(Builder)?;
        // A repeated key keeps its first place and takes the last value, as in serde_json.
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, existing)) => *existing = value,
            None => self.entries.push((key, value)),
        }
        Ok(())
    }

    fn end(self) -> Result<Value, Unrepresentable> {
        Ok(Value::Object(self.entries))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    enum Kind {
        Auth,
        Port(u16),
    }

    #[derive(Serialize)]
    struct Context {
        name: &'static str,
        port: u16,
        offset: i32,
        ratio: f64,
        missing: Option<String>,
        kinds: Vec<Kind>,
        env: BTreeMap<String, String>,
        flag: bool,
    }

    #[test]
    fn writes_back_the_json_serde_json_writes() {
        let context = Context {
            name: "a \"quoted\" ${name}",
            port: 8080,
            offset: -3,
            ratio: 0.5,
            missing: None,
            kinds: vec![Kind::Auth, Kind::Port(1)],
            env: BTreeMap::from([("B".into(), "2".into()), ("A".into(), "1".into())]),
            flag: true,
        };
        let tree = Value::from_serialize(&context).unwrap();
        assert_eq!(
            serde_json::to_string(&tree).unwrap(),
            serde_json::to_string(&context).unwrap()
        );
        assert_eq!(tree.get("port"), Some(&Value::Number(8080.into())));
        assert!(Value::from_serialize(&(1, 2)).is_err());
    }
}
