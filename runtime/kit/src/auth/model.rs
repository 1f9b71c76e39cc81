use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The user object auth returns (BetterAuth's shape). Only `id` is required; everything auth adds
/// (plugin fields, `has<Service>Account` flags) is kept in `extra`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub image: Option<String>,
    /// BetterAuth's admin plugin stores roles comma-joined (`"user,editor"`); see [`User::roles`].
    #[serde(default, deserialize_with = "roles_as_joined_string")]
    pub role: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl User {
    /// The user's roles, split from the comma-joined `role` field, trimmed, empty ones dropped.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.role
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles().any(|r| r == role)
    }

    /// `admin` passes every role gate (the contract's rule, and BetterAuth's default admin role).
    pub fn is_admin(&self) -> bool {
        self.has_role("admin")
    }

    /// Auth's `has<Service>Account` flag for `service` (`my-svc` -> `hasMySvcAccount`), when auth
    /// reports it (only for services in `AUTH_PROVISION_SERVICES`).
    pub fn has_service_account(&self, service: &str) -> Option<bool> {
        self.account_flag(&service_account_flag(service))
    }

    /// Auth's flag `flag` (a [`service_account_flag`]), when auth reports it.
    pub(crate) fn account_flag(&self, flag: &str) -> Option<bool> {
        self.extra.get(flag).and_then(Value::as_bool)
    }

    /// Sets the flag `flag` (a [`service_account_flag`]): the service has an account for the user
    /// (it provisioned the user after auth answered).
    pub(crate) fn note_account(&mut self, flag: &str) {
        self.extra.insert(flag.to_owned(), Value::Bool(true));
    }
}

/// `my-svc` -> `hasMySvcAccount`.
pub fn service_account_flag(service: &str) -> String {
    let camel: String = service
        .split('-')
        .filter(|p| !p.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("has{camel}Account")
}

/// The session object auth returns. The session token auth includes in it is deliberately not
/// deserialized: a base service has no use for it and must not be able to leak it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    /// The admin acting as the user, when this session is an impersonation (auth's admin API).
    #[serde(default)]
    pub impersonated_by: Option<String>,
}

/// A session auth vouched for, with its user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifiedSession {
    pub session: Session,
    pub user: User,
}

/// Auth's answer about the owner of a credential this service derived from a session.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerStatus {
    pub user_id: String,
    pub banned: bool,
    /// Moves on whenever the owner's sessions are revoked wholesale, or another of their own is
    /// (docs/runtime-contract.md, "Owner status protocol"); a derived credential stamped with an
    /// older epoch is dead.
    pub credential_epoch: i64,
}

/// Accepts BetterAuth's comma-joined string, and also an array (joined), so a future auth that
/// returns a list does not lock everyone out.
fn roles_as_joined_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Roles {
        Joined(String),
        List(Vec<String>),
    }
    Ok(match Option::<Roles>::deserialize(d)? {
        None => None,
        Some(Roles::Joined(s)) => Some(s),
        Some(Roles::List(list)) => Some(list.join(",")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_betterauth_answer_and_drops_the_token() {
        let body = r#"{"session":{"expiresAt":"2026-12-01T02:02:28.476Z","token":"SECRETTOKEN","createdAt":"2026-11-24T02:02:28.476Z","updatedAt":"2026-11-24T02:02:28.476Z","ipAddress":"","userAgent":"curl","userId":"u1","id":"s1"},
                       "user":{"name":"Alice","email":"alice@example.com","emailVerified":false,"image":null,"createdAt":"2026-11-24T02:02:28.476Z","updatedAt":"2026-11-24T02:02:28.476Z","id":"u1","role":"user, editor","hasCoreAccount":true,"hasMySvcAccount":false}}"#;
        let v: VerifiedSession = serde_json::from_str(body).unwrap();
        assert_eq!(v.user.id, "u1");
        assert_eq!(v.user.roles().collect::<Vec<_>>(), ["user", "editor"]);
        assert!(v.user.has_role("editor") && !v.user.is_admin());
        assert_eq!(v.user.has_service_account("core"), Some(true));
        assert_eq!(v.user.has_service_account("my-svc"), Some(false));
        assert_eq!(v.user.has_service_account("wallet"), None);
        assert!(!serde_json::to_string(&v).unwrap().contains("SECRETTOKEN"));
    }

    #[test]
    fn role_may_be_null_absent_or_a_list() {
        let u: User = serde_json::from_str(r#"{"id":"a","role":null}"#).unwrap();
        assert_eq!(u.roles().count(), 0);
        let u: User = serde_json::from_str(r#"{"id":"a"}"#).unwrap();
        assert_eq!(u.roles().count(), 0);
        let u: User = serde_json::from_str(r#"{"id":"a","role":["admin","x"]}"#).unwrap();
        assert!(u.is_admin());
    }
}
