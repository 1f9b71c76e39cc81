//! JSON output of users and sessions, with BetterAuth's key order and date format.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::db::models::{Session, User};

/// JavaScript `Date.toJSON()`: `2026-11-24T02:02:28.476Z`.
pub fn date(d: &DateTime<Utc>) -> Value {
    Value::String(d.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn opt_date(d: &Option<DateTime<Utc>>) -> Value {
    d.as_ref().map_or(Value::Null, date)
}

use stackr_contract::has_account_field;

/// The user object in the key order a BetterAuth 1.7.25 server with the twoFactor and admin
/// plugins produces (checked by `tests/it/differential_betterauth.rs`: plugin fields, then the
/// additional fields (`tests/it/differential_user_fields.rs`), come before `id`), then `has<Service>Account` for every service allowed to provision.
pub fn user<'a>(
    u: &User,
    fields: &[crate::user_fields::UserField],
    provision_services: impl IntoIterator<Item = &'a String>,
) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), u.name.clone().into());
    m.insert("email".into(), u.email.clone().into());
    m.insert("emailVerified".into(), u.email_verified.into());
    m.insert(
        "image".into(),
        u.image.clone().map_or(Value::Null, Value::String),
    );
    m.insert("createdAt".into(), date(&u.created_at));
    m.insert("updatedAt".into(), date(&u.updated_at));
    m.insert("twoFactorEnabled".into(), u.two_factor_enabled.into());
    m.insert(
        "role".into(),
        u.role.clone().map_or(Value::Null, Value::String),
    );
    m.insert("banned".into(), u.banned.map_or(Value::Null, Value::Bool));
    m.insert(
        "banReason".into(),
        u.ban_reason.clone().map_or(Value::Null, Value::String),
    );
    m.insert("banExpires".into(), opt_date(&u.ban_expires));
    m.extend(crate::user_fields::output(fields, &u.extra));
    m.insert("id".into(), u.id.clone().into());
    for service in provision_services {
        m.insert(
            has_account_field(service),
            u.services.iter().any(|s| s == service).into(),
        );
    }
    Value::Object(m)
}

/// The session object (includes the token, as BetterAuth does).
pub fn session(s: &Session) -> Value {
    let mut m = Map::new();
    m.insert("expiresAt".into(), date(&s.expires_at));
    m.insert("token".into(), s.token.clone().into());
    m.insert("createdAt".into(), date(&s.created_at));
    m.insert("updatedAt".into(), date(&s.updated_at));
    m.insert(
        "ipAddress".into(),
        s.ip_address.clone().unwrap_or_default().into(),
    );
    m.insert(
        "userAgent".into(),
        s.user_agent.clone().unwrap_or_default().into(),
    );
    m.insert("userId".into(), s.user_id.clone().into());
    m.insert(
        "impersonatedBy".into(),
        s.impersonated_by.clone().map_or(Value::Null, Value::String),
    );
    m.insert("id".into(), s.id.clone().into());
    Value::Object(m)
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
