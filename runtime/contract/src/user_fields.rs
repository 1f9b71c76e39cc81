//! Additional user fields (BetterAuth's `user.additionalFields`), declared on the auth service in
//! `stackr.config.json` as `userFields` and handed to auth as `AUTH_USER_FIELDS`: a JSON array of
//! `{"name", "type", "required", "defaultValue", "input"}` objects, in the declared order. The
//! rules both sides check are here; the generator reports a broken declaration at its place in
//! the config, auth refuses to start with one.

/// The value types a field may have, as BetterAuth names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Number,
    Boolean,
    /// An instant, sent and answered as an ISO 8601 string.
    Date,
}

impl FieldType {
    pub const NAMES: [&'static str; 4] = ["string", "number", "boolean", "date"];

    pub fn parse(name: &str) -> Option<FieldType> {
        match name {
            "string" => Some(FieldType::String),
            "number" => Some(FieldType::Number),
            "boolean" => Some(FieldType::Boolean),
            "date" => Some(FieldType::Date),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// Fields the user object already has (BetterAuth's core and plugin fields, auth's own): a
/// declared field may not take these names.
pub const RESERVED_NAMES: &[&str] = &[
    "id",
    "name",
    "email",
    "emailVerified",
    "image",
    "createdAt",
    "updatedAt",
    "twoFactorEnabled",
    "role",
    "banned",
    "banReason",
    "banExpires",
    "password",
    "callbackURL",
    "rememberMe",
];

/// Why a field name is refused, if it is: names become PostgreSQL columns and JSON keys, so they
/// are a letter followed by letters and digits (camelCase, as BetterAuth's are), at most 63
/// characters (PostgreSQL's identifier limit), and not a name the user object already has.
pub fn name_problem(name: &str) -> Option<String> {
    let well_formed = name.len() <= 63
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric());
    if !well_formed {
        return Some(format!(
            "`{name}` is not a field name: use a letter, then letters and digits (camelCase), at most 63 characters"
        ));
    }
    if RESERVED_NAMES.contains(&name) || (name.starts_with("has") && name.ends_with("Account")) {
        return Some(format!(
            "`{name}` is already a field of every user (or of a provisioning service's `has<Service>Account`)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_camel_case_words_not_taken_by_the_user() {
        assert_eq!(name_problem("plan"), None);
        assert_eq!(name_problem("companyName2"), None);
        for bad in [
            "",
            "2fa",
            "first_name",
            "a-b",
            "emailVerified",
            "role",
            "hasCoreAccount",
        ] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
        assert!(name_problem(&"a".repeat(64)).is_some());
    }

    #[test]
    fn types_have_betterauths_names() {
        for name in FieldType::NAMES {
            assert_eq!(FieldType::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(FieldType::parse("json"), None);
    }
}
