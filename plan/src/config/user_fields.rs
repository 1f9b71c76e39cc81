//! `userFields` of the auth service: additional fields every user has (BetterAuth's
//! `user.additionalFields`), answered in each user object and set at sign-up and update-user.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One additional user field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserFieldConfig {
    /// camelCase `[a-zA-Z][a-zA-Z0-9]*`: the key in user objects and the column of the `user`
    /// table; not a field users already have (`name`, `role`, …).
    pub name: String,
    /// The value's type.
    #[serde(rename = "type")]
    pub kind: UserFieldType,
    /// Sign-up must give it (unless it has a `defaultValue`), and it is never `null`. Default
    /// true, as in BetterAuth.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub required: bool,
    /// The value a new user gets when none is given; of the field's type (a date as an ISO 8601
    /// string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<serde_json::Value>,
    /// Whether clients may set it at sign-up and update-user. `false` for server-only fields:
    /// a client sending one is refused with `FIELD_NOT_ALLOWED`. Default true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub input: bool,
}

/// BetterAuth's field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserFieldType {
    String,
    Number,
    Boolean,
    Date,
}

impl UserFieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Date => "date",
        }
    }
}

fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::UserFieldType;
    use stackr_contract::user_fields::FieldType;

    #[test]
    fn types_are_the_ones_auth_reads() {
        let all = [
            UserFieldType::String,
            UserFieldType::Number,
            UserFieldType::Boolean,
            UserFieldType::Date,
        ];
        let names: Vec<&str> = all.iter().map(|t| t.as_str()).collect();
        assert_eq!(names, FieldType::NAMES);
    }
}
