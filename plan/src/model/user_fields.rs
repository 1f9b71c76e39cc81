//! Rules of the auth service's `userFields`, the same auth applies to `AUTH_USER_FIELDS`
//! (`stackr_contract::user_fields`), checked here so a mistake is reported at its place in the
//! config instead of when auth starts; and the variable's value.

use serde_json::{json, Value};
use stackr_contract::user_fields::name_problem;

use crate::config::{UserFieldConfig, UserFieldType};

/// A refused field: the key (relative to `userFields[index]`), what is wrong, and what to do.
pub struct Refusal {
    pub index: usize,
    pub field: &'static str,
    pub message: String,
    pub help: String,
}

fn of_type(kind: UserFieldType, v: &Value) -> bool {
    match kind {
        UserFieldType::String => v.is_string(),
        UserFieldType::Number => v.is_number(),
        UserFieldType::Boolean => v.is_boolean(),
        UserFieldType::Date => v.as_str().is_some_and(iso_date),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`, the form auth accepts for dates.
fn iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
    {
        return false;
    }
    if !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    let zone = rest.as_bytes();
    rest == "Z"
        || rest == "z"
        || (zone.len() == 6
            && matches!(zone[0], b'+' | b'-')
            && zone[1..3].iter().all(u8::is_ascii_digit)
            && zone[3] == b':'
            && zone[4..6].iter().all(u8::is_ascii_digit))
}

pub fn check(fields: &[UserFieldConfig]) -> Result<(), Refusal> {
    for (index, f) in fields.iter().enumerate() {
        let refuse = |field, message: String, help: &str| Refusal {
            index,
            field,
            message,
            help: help.to_owned(),
        };
        if let Some(problem) = name_problem(&f.name) {
            return Err(refuse(
                "name",
                problem,
                "pick another camelCase name, like `plan` or `companyName`",
            ));
        }
        if let Some(first) = fields[..index].iter().position(|g| g.name == f.name) {
            return Err(refuse(
                "name",
                format!(
                    "field `{}` is already declared by userFields[{first}]",
                    f.name
                ),
                "give every field its own name",
            ));
        }
        if let Some(v) = f.default_value.as_ref().filter(|v| !v.is_null()) {
            if !of_type(f.kind, v) {
                return Err(refuse(
                    "defaultValue",
                    format!("the default `{v}` is not a {}", f.kind.as_str()),
                    match f.kind {
                        UserFieldType::Date => {
                            "write the date as an ISO 8601 string, e.g. \"2027-01-01T00:00:00Z\""
                        }
                        _ => "give a value of the field's type, or change `type`",
                    },
                ));
            }
        }
    }
    Ok(())
}

/// `AUTH_USER_FIELDS`: the checked fields as auth reads them, on one line.
pub fn env_value(fields: &[UserFieldConfig]) -> String {
    let entries: Vec<Value> = fields
        .iter()
        .map(|f| {
            let mut e = json!({"name": f.name, "type": f.kind.as_str(), "required": f.required, "input": f.input});
            if let Some(v) = f.default_value.as_ref().filter(|v| !v.is_null()) {
                e["defaultValue"] = v.clone();
            }
            e
        })
        .collect();
    Value::Array(entries).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(json: Value) -> UserFieldConfig {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn refuses_names_and_defaults_auth_would_refuse() {
        let ok = field(json!({"name": "plan", "type": "string", "defaultValue": "free"}));
        assert!(check(std::slice::from_ref(&ok)).is_ok());
        for (fields, key, says) in [
            (
                vec![field(json!({"name": "role", "type": "string"}))],
                "name",
                "already a field",
            ),
            (
                vec![field(json!({"name": "first_name", "type": "string"}))],
                "name",
                "not a field name",
            ),
            (
                vec![ok.clone(), ok.clone()],
                "name",
                "already declared by userFields[0]",
            ),
            (
                vec![field(
                    json!({"name": "seats", "type": "number", "defaultValue": "3"}),
                )],
                "defaultValue",
                "is not a number",
            ),
            (
                vec![field(
                    json!({"name": "ends", "type": "date", "defaultValue": "tomorrow"}),
                )],
                "defaultValue",
                "is not a date",
            ),
        ] {
            let refused = check(&fields).expect_err("refused");
            assert_eq!(refused.field, key);
            assert!(refused.message.contains(says), "{}", refused.message);
        }
        let dated = field(
            json!({"name": "ends", "type": "date", "defaultValue": "2027-01-01T00:00:00.5+02:00"}),
        );
        assert!(check(&[dated]).is_ok());
    }

    #[test]
    fn the_variable_lists_every_field_in_order() {
        let fields = [
            field(
                json!({"name": "plan", "type": "string", "defaultValue": "free", "input": false}),
            ),
            field(json!({"name": "company", "type": "string", "required": false})),
        ];
        assert_eq!(
            env_value(&fields),
            r#"[{"name":"plan","type":"string","required":true,"input":false,"defaultValue":"free"},{"name":"company","type":"string","required":false,"input":true}]"#
        );
    }
}
