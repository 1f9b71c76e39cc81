//! JSON output of users and sessions, with BetterAuth's key order and date format.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use stackr_contract::has_account_field;

use crate::db::models::{Session, User};

/// JavaScript `Date.toJSON()`: `2026-11-24T02:02:28.476Z`.
fn js_date(d: &DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A date as JSON, in JavaScript's format (see `js_date`).
pub fn date(d: &DateTime<Utc>) -> Value {
    Value::String(js_date(d))
}

/// A date as JavaScript's `Date.toJSON()` writes it, serialized without an intermediate `Value`.
struct JsDate<'a>(&'a DateTime<Utc>);

impl Serialize for JsDate<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&js_date(self.0))
    }
}

/// The user object in the key order a BetterAuth 1.7.25 server with the twoFactor and admin
/// plugins produces (checked by `tests/it/differential_betterauth.rs`: plugin fields, then the
/// additional fields (`tests/it/differential_user_fields.rs`), come before `id`), then
/// `has<Service>Account` for every service allowed to provision. Serializable as is, so the
/// hot get-session writes its bytes without building a `Value` first.
pub struct UserJson<'a> {
    pub user: &'a User,
    pub fields: &'a [crate::user_fields::UserField],
    pub provision_services: &'a [String],
}

impl Serialize for UserJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let u = self.user;
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("name", &u.name)?;
        m.serialize_entry("email", &u.email)?;
        m.serialize_entry("emailVerified", &u.email_verified)?;
        m.serialize_entry("image", &u.image)?;
        m.serialize_entry("createdAt", &JsDate(&u.created_at))?;
        m.serialize_entry("updatedAt", &JsDate(&u.updated_at))?;
        m.serialize_entry("twoFactorEnabled", &u.two_factor_enabled)?;
        m.serialize_entry("role", &u.role)?;
        m.serialize_entry("banned", &u.banned)?;
        m.serialize_entry("banReason", &u.ban_reason)?;
        m.serialize_entry("banExpires", &u.ban_expires.as_ref().map(JsDate))?;
        for (name, value) in crate::user_fields::output(self.fields, &u.extra) {
            m.serialize_entry(&name, &value)?;
        }
        m.serialize_entry("id", &u.id)?;
        for service in self.provision_services {
            m.serialize_entry(
                &has_account_field(service),
                &u.services.iter().any(|s| s == service),
            )?;
        }
        m.end()
    }
}

/// The session object (includes the token, as BetterAuth does), serializable as is.
pub struct SessionJson<'a>(pub &'a Session);

impl Serialize for SessionJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.0;
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("expiresAt", &JsDate(&s.expires_at))?;
        m.serialize_entry("token", &s.token)?;
        m.serialize_entry("createdAt", &JsDate(&s.created_at))?;
        m.serialize_entry("updatedAt", &JsDate(&s.updated_at))?;
        m.serialize_entry("ipAddress", s.ip_address.as_deref().unwrap_or_default())?;
        m.serialize_entry("userAgent", s.user_agent.as_deref().unwrap_or_default())?;
        m.serialize_entry("userId", &s.user_id)?;
        m.serialize_entry("impersonatedBy", &s.impersonated_by)?;
        m.serialize_entry("id", &s.id)?;
        m.end()
    }
}

/// [`SessionJson`] as a JSON value.
pub fn session(s: &Session) -> Value {
    serde_json::to_value(SessionJson(s)).expect("a session serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_look_like_javascript() {
        use chrono::TimeZone;
        let d = Utc.with_ymd_and_hms(2026, 11, 24, 2, 2, 28).unwrap()
            + chrono::Duration::milliseconds(476);
        assert_eq!(date(&d), Value::String("2026-11-24T02:02:28.476Z".into()));
    }
}
