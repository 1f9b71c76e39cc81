//! The roles an admin may give: the built-in `user` and `admin`, plus the roles the stack declares
//! (`AUTH_ROLES`, which stackr fills with every role its `role-gated` services let through). Auth
//! gives them; `stackr set-role` refuses a role auth would refuse before it builds auth's binary.

/// Roles every stack has: `user` (the default of a new account) and `admin` (passes every guard).
pub const BUILT_IN: &[&str] = &["user", "admin"];

/// What a role name may hold, for messages.
pub const NAME_RULE: &str = "roles use letters, digits, `-` and `_`";

/// Whether `name` may name a role: at least one letter, digit, `-` or `_`, and nothing else.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Roles `set-role` accepts. Stored comma-joined in `user.role`, so a role name never contains a
/// comma ([`is_valid_name`], the rule stackr applies to its config too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    declared: Vec<String>,
}

impl Roles {
    /// Parses `AUTH_ROLES`: a comma list of role names; empty entries are skipped.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut declared = Vec::new();
        for name in list.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            if !is_valid_name(name) {
                return Err(format!(
                    "AUTH_ROLES contains an invalid role {name:?}: {NAME_RULE}"
                ));
            }
            if !BUILT_IN.contains(&name) && !declared.iter().any(|d| d == name) {
                declared.push(name.to_owned());
            }
        }
        Ok(Roles { declared })
    }

    /// Whether `role` may be given to a user.
    pub fn accepts(&self, role: &str) -> bool {
        BUILT_IN.contains(&role) || self.declared.iter().any(|d| d == role)
    }

    /// The first entry of `list`, a comma list of roles as `set-role` takes, that may not be
    /// given (an empty one included), trimmed.
    pub fn first_refused<'a>(&self, list: &'a str) -> Option<&'a str> {
        list.split(',')
            .map(str::trim)
            .find(|role| !self.accepts(role))
    }

    /// Every accepted role, built-in first.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        BUILT_IN
            .iter()
            .copied()
            .chain(self.declared.iter().map(String::as_str))
    }

    /// Every accepted role, built-in first, for messages.
    pub fn describe(&self) -> String {
        self.all()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_roles_join_the_built_in_ones() {
        let roles = Roles::parse(" finance, ops ,,admin").unwrap();
        assert!(roles.accepts("finance") && roles.accepts("ops") && roles.accepts("user"));
        assert!(!roles.accepts("auditor"));
        assert_eq!(roles.first_refused("user, ops"), None);
        assert_eq!(roles.first_refused("ops,auditor,x"), Some("auditor"));
        assert_eq!(roles.first_refused("ops,"), Some(""));
        assert_eq!(roles.describe(), "`user`, `admin`, `finance`, `ops`");
        let err = Roles::parse("finance,a b").unwrap_err();
        assert!(
            err.contains("AUTH_ROLES") && err.contains("\"a b\""),
            "{err}"
        );
    }
}
