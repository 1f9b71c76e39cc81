//! Additional user fields (`AUTH_USER_FIELDS`, BetterAuth's `user.additionalFields`): one
//! column of `"user"` each, added at start-up as BetterAuth's migration adds them; set by
//! sign-up and update-user with BetterAuth's rules; answered in every user object.
//!
//! BetterAuth's input rules (`parseInputData`): a field the client may not set (`input: false`)
//! takes its default on sign-up whatever was sent, and is otherwise refused with
//! `400 FIELD_NOT_ALLOWED "<name> is not allowed to be set"` when the value sent is truthy (a
//! falsy one is ignored); a missing `required` field on sign-up is
//! `400 MISSING_FIELD "<name> is required"` unless it has a default. Unlike BetterAuth, values
//! are checked against the field's type (`400 VALIDATION_ERROR`), so a wrong type never reaches
//! the database, and `required` is enforced when it is left to its default (true), where
//! BetterAuth only makes the column `NOT NULL` and fails the sign-up.

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde_json::{Map, Value};
use stackr_contract::user_fields::{name_problem, FieldType};

use crate::error::{ApiError, ApiResult};
use crate::error_codes;

#[derive(Debug, Clone)]
pub struct UserField {
    pub name: String,
    pub kind: FieldType,
    /// Sign-up must give it unless it has a default (BetterAuth's `required`, default true);
    /// it is never set to `null`.
    pub required: bool,
    pub default: Option<Value>,
    /// Whether a client may set it (BetterAuth's `input`, default true).
    pub input: bool,
}

/// Reads `AUTH_USER_FIELDS`: errors name the entry and what to fix.
pub fn parse(json: &str) -> anyhow::Result<Vec<UserField>> {
    let entries: Vec<Map<String, Value>> =
        serde_json::from_str(json).context("AUTH_USER_FIELDS is not a JSON array of objects")?;
    let mut fields: Vec<UserField> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let field = entry(e).with_context(|| format!("AUTH_USER_FIELDS[{i}]"))?;
        if fields.iter().any(|f| f.name == field.name) {
            bail!(
                "AUTH_USER_FIELDS[{i}]: the field `{}` is declared twice",
                field.name
            );
        }
        fields.push(field);
    }
    Ok(fields)
}

fn entry(e: &Map<String, Value>) -> anyhow::Result<UserField> {
    if let Some(key) = e
        .keys()
        .find(|k| !["name", "type", "required", "defaultValue", "input"].contains(&k.as_str()))
    {
        bail!("unknown key `{key}` (name, type, required, defaultValue, input)");
    }
    let name = e
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("`name` must be a string"))?
        .to_owned();
    if let Some(problem) = name_problem(&name) {
        bail!(problem);
    }
    let kind = e
        .get("type")
        .and_then(Value::as_str)
        .and_then(FieldType::parse)
        .ok_or_else(|| anyhow!("`type` must be one of {}", FieldType::NAMES.join(", ")))?;
    let flag = |key: &str, default: bool| match e.get(key) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(anyhow!("`{key}` must be true or false")),
    };
    let default = match e.get("defaultValue") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            typed(kind, v)
                .map_err(|expected| anyhow!("`defaultValue` of `{name}` must be {expected}"))?,
        ),
    };
    Ok(UserField {
        required: flag("required", true)?,
        input: flag("input", true)?,
        name,
        kind,
        default,
    })
}

/// The most characters a string field holds, as [`crate::body::MAX_CHARS`] caps the built-in ones:
/// every base service fetches the whole profile with every get-session.
pub const MAX_STRING_CHARS: usize = 1024;

/// `v` as stored for a field of type `kind`, or what was expected instead.
fn typed(kind: FieldType, v: &Value) -> Result<Value, &'static str> {
    match (kind, v) {
        (FieldType::String, Value::String(_))
        | (FieldType::Number, Value::Number(_))
        | (FieldType::Boolean, Value::Bool(_)) => Ok(v.clone()),
        (FieldType::Date, Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|d| crate::json::date(&d.with_timezone(&Utc)))
            .map_err(|_| "an ISO 8601 date"),
        (FieldType::String, _) => Err("a string"),
        (FieldType::Number, _) => Err("a number"),
        (FieldType::Boolean, _) => Err("a boolean"),
        (FieldType::Date, _) => Err("an ISO 8601 date"),
    }
}

fn column_type(kind: FieldType) -> &'static str {
    match kind {
        FieldType::String => "text",
        FieldType::Number => "double precision",
        FieldType::Boolean => "boolean",
        FieldType::Date => "timestamptz",
    }
}

/// Adds a column for each field that has none yet (names are checked identifiers, see
/// `name_problem`). Columns are never dropped: a field removed from the config keeps its data.
pub async fn ensure_columns(
    client: &impl GenericClient,
    fields: &[UserField],
) -> Result<(), tokio_postgres::Error> {
    for f in fields {
        client
            .batch_execute(&format!(
                r#"alter table "user" add column if not exists "{}" {}"#,
                f.name,
                column_type(f.kind)
            ))
            .await?;
    }
    Ok(())
}

pub enum Action {
    Create,
    Update,
}

/// JavaScript truthiness, which BetterAuth's `input: false` check uses.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// The values to store from a sign-up or update-user body, in the declared order (see the module
/// documentation for the rules).
pub fn from_body(
    fields: &[UserField],
    body: &Map<String, Value>,
    action: Action,
) -> ApiResult<Map<String, Value>> {
    let create = matches!(action, Action::Create);
    let mut out = Map::new();
    for f in fields {
        match body.get(&f.name) {
            Some(_) if !f.input && create && f.default.is_some() => {
                out.insert(f.name.clone(), f.default.clone().unwrap_or_default());
            }
            Some(v) if !f.input && truthy(v) => {
                return Err(ApiError::bad_request(
                    error_codes::FIELD_NOT_ALLOWED,
                    &format!("{} is not allowed to be set", f.name),
                ));
            }
            // A falsy value of a server-only field is ignored.
            Some(_) if !f.input => {}
            Some(Value::Null) if !f.required => {
                out.insert(f.name.clone(), Value::Null);
            }
            Some(Value::String(text))
                if f.kind == FieldType::String && text.chars().count() > MAX_STRING_CHARS =>
            {
                return Err(ApiError::validation(crate::body::too_long(
                    &format!("body.{}", f.name),
                    MAX_STRING_CHARS,
                )));
            }
            Some(v) => {
                let value = typed(f.kind, v).map_err(|expected| {
                    ApiError::validation(format!(
                        "[body.{}] Invalid input: expected {expected}",
                        f.name
                    ))
                })?;
                out.insert(f.name.clone(), value);
            }
            None if create => {
                if let Some(d) = &f.default {
                    out.insert(f.name.clone(), d.clone());
                } else if f.required {
                    return Err(ApiError::bad_request(
                        error_codes::MISSING_FIELD,
                        &format!("{} is required", f.name),
                    ));
                }
            }
            None => {}
        }
    }
    Ok(out)
}

/// Stores `values` (from `from_body`) on the user; PostgreSQL turns each JSON value into its
/// column's type.
pub async fn store(
    client: &impl GenericClient,
    user_id: &str,
    values: &Map<String, Value>,
) -> Result<(), tokio_postgres::Error> {
    if values.is_empty() {
        return Ok(());
    }
    let sets: Vec<String> = values
        .keys()
        .map(|k| format!(r#""{k}" = r."{k}""#))
        .collect();
    client
        .execute(
            &format!(
                r#"update "user" set {}
                   from jsonb_populate_record(null::"user", $2::text::jsonb) r where "user"."id" = $1"#,
                sets.join(", ")
            ),
            &[&user_id, &Value::Object(values.clone()).to_string()],
        )
        .await?;
    Ok(())
}

/// Each field's value for a user object, from the row's extra columns (`User::extra`); dates in
/// JavaScript's format, a missing value `null`.
pub fn output<'a>(
    fields: &'a [UserField],
    extra: &'a Map<String, Value>,
) -> impl Iterator<Item = (String, Value)> + 'a {
    fields.iter().map(|f| {
        let v = extra.get(&f.name).cloned().unwrap_or(Value::Null);
        let v = match (f.kind, &v) {
            (FieldType::Date, Value::String(s)) => DateTime::parse_from_rfc3339(s)
                .map(|d| crate::json::date(&d.with_timezone(&Utc)))
                .unwrap_or(v),
            _ => v,
        };
        (f.name.clone(), v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Vec<UserField> {
        parse(
            r#"[{"name":"plan","type":"string","input":false,"defaultValue":"free"},
                {"name":"company","type":"string"},
                {"name":"seats","type":"number","required":false},
                {"name":"trialEnds","type":"date","required":false},
                {"name":"vip","type":"boolean","required":false,"input":false}]"#,
        )
        .unwrap()
    }

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn refuses_broken_declarations_naming_the_entry() {
        for (json, says) in [
            (r#"[{"name":"role","type":"string"}]"#, "already a field"),
            (r#"[{"name":"x","type":"json"}]"#, "`type` must be one of"),
            (
                r#"[{"name":"x","type":"number","defaultValue":"1"}]"#,
                "must be a number",
            ),
            (
                r#"[{"name":"x","type":"string","extra":1}]"#,
                "unknown key `extra`",
            ),
            (
                r#"[{"name":"x","type":"string"},{"name":"x","type":"date"}]"#,
                "declared twice",
            ),
            (r#"{"name":"x"}"#, "not a JSON array"),
        ] {
            let e = format!("{:#}", parse(json).unwrap_err());
            assert!(e.contains(says), "{json}: {e}");
        }
    }

    #[test]
    fn sign_up_applies_defaults_requirements_and_server_only_rules() {
        let f = fields();
        let create = |v| from_body(&f, &body(v), Action::Create);
        assert_eq!(
            Value::Object(create(json!({"company": "Acme", "plan": "pro"})).unwrap()),
            json!({"plan": "free", "company": "Acme"}),
            "a server-only field with a default takes the default"
        );
        let e = create(json!({"plan": "pro"})).unwrap_err();
        assert_eq!(e.code(), Some("MISSING_FIELD"));
        let e = create(json!({"company": "Acme", "vip": true})).unwrap_err();
        assert_eq!(e.code(), Some("FIELD_NOT_ALLOWED"));
        assert_eq!(e.message(), Some("vip is not allowed to be set"));
        assert!(create(json!({"company": "Acme", "vip": false})).is_ok());
        let e = create(json!({"company": "Acme", "seats": "3"})).unwrap_err();
        assert_eq!(e.code(), Some("VALIDATION_ERROR"));
        let e = create(json!({"company": "Acme", "trialEnds": "soon"})).unwrap_err();
        assert_eq!(e.code(), Some("VALIDATION_ERROR"));
    }

    #[test]
    fn update_never_applies_defaults_and_refuses_server_only_fields() {
        let f = fields();
        let update = |v| from_body(&f, &body(v), Action::Update);
        assert!(update(json!({})).unwrap().is_empty());
        assert_eq!(
            update(json!({"plan": "pro"})).unwrap_err().code(),
            Some("FIELD_NOT_ALLOWED")
        );
        assert!(update(json!({"plan": ""})).unwrap().is_empty());
        assert_eq!(
            Value::Object(
                update(json!({"seats": 4, "trialEnds": "2027-01-01T00:00:00Z"})).unwrap()
            ),
            json!({"seats": 4, "trialEnds": "2027-01-01T00:00:00.000Z"})
        );
    }
}
