//! Rows of the BetterAuth tables, and the column lists that load them.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

// The user columns in pieces, so a query that needs neither the provisioned services nor the
// other columns can read constants in their place (see `sessions::find_with_user_sql`).
macro_rules! user_base_columns {
    () => {
        r#"u."id", u."name", u."email", u."emailVerified", u."image", u."createdAt", u."updatedAt",
 coalesce(u."twoFactorEnabled", false), u."role", u."banned", u."banReason", u."banExpires""#
    };
}
macro_rules! user_services_column {
    () => {
        r#"coalesce((select array_agg(sa."service" order by sa."service") from "service_account" sa where sa."user_id" = u."id"), '{}'::text[])"#
    };
}
macro_rules! user_extra_column {
    () => {
        r#"(to_jsonb(u) - '{id,name,email,emailVerified,image,createdAt,updatedAt,twoFactorEnabled,role,banned,banReason,banExpires}'::text[])::text"#
    };
}

/// Columns of `"user" u` in the order `User::from_row` reads them, plus the provisioned services
/// and the other columns as a JSON object.
pub const USER_COLUMNS: &str = concat!(
    user_base_columns!(),
    ",\n ",
    user_services_column!(),
    ",\n ",
    user_extra_column!()
);
/// The first columns of [`USER_COLUMNS`]: the user's own.
pub const USER_BASE_COLUMNS: &str = user_base_columns!();
/// The provisioned services (`User::services`).
pub const USER_SERVICES_COLUMN: &str = user_services_column!();
/// The other columns as a JSON object (`User::extra`).
pub const USER_EXTRA_COLUMN: &str = user_extra_column!();
pub const USER_COLUMN_COUNT: usize = 14;

/// Columns of `"session" s` in the order `Session::from_row` reads them.
pub const SESSION_COLUMNS: &str = r#"s."id", s."token", s."expiresAt", s."createdAt", s."updatedAt", s."ipAddress", s."userAgent", s."userId", s."impersonatedBy""#;
pub const SESSION_COLUMN_COUNT: usize = 9;
/// Where [`SESSION_COLUMNS`] puts the token.
pub const SESSION_TOKEN_COLUMN: usize = 1;

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub two_factor_enabled: bool,
    pub role: Option<String>,
    pub banned: Option<bool>,
    pub ban_reason: Option<String>,
    pub ban_expires: Option<DateTime<Utc>>,
    /// Base services that provisioned a record for this user.
    pub services: Vec<String>,
    /// The row's other columns (additional user fields among them, see `crate::user_fields`).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The roles a stored `role` value names: they are stored comma-joined (admin plugin
/// convention).
pub fn roles_in(stored: &str) -> impl Iterator<Item = &str> {
    stored.split(',').map(str::trim).filter(|r| !r.is_empty())
}

/// Whether a stored `role` value names the admin role.
pub fn holds_admin(stored: &str) -> bool {
    roles_in(stored).any(|r| r == "admin")
}

impl User {
    pub fn from_row(row: &Row, at: usize) -> Self {
        Self::try_from_row(row, at).unwrap_or_else(|e| panic!("a user row: {e}"))
    }

    /// The user in `row` from column `at`; an error for a value auth cannot read (a date past
    /// chrono's range, such as `infinity`).
    pub fn try_from_row(row: &Row, at: usize) -> Result<Self, tokio_postgres::Error> {
        Ok(User {
            id: row.try_get(at)?,
            name: row.try_get(at + 1)?,
            email: row.try_get(at + 2)?,
            email_verified: row.try_get(at + 3)?,
            image: row.try_get(at + 4)?,
            created_at: row.try_get(at + 5)?,
            updated_at: row.try_get(at + 6)?,
            two_factor_enabled: row.try_get(at + 7)?,
            role: row.try_get(at + 8)?,
            banned: row.try_get(at + 9)?,
            ban_reason: row.try_get(at + 10)?,
            ban_expires: row.try_get(at + 11)?,
            services: row.try_get(at + 12)?,
            extra: serde_json::from_str(row.try_get(at + 13)?).unwrap_or_default(),
        })
    }

    pub fn roles(&self) -> impl Iterator<Item = &str> {
        roles_in(self.role.as_deref().unwrap_or("user"))
    }

    pub fn is_admin(&self) -> bool {
        holds_admin(self.role.as_deref().unwrap_or("user"))
    }

    /// Banned right now (an expired ban no longer counts; the admin plugin lifts it lazily).
    pub fn is_banned(&self, now: DateTime<Utc>) -> bool {
        self.banned == Some(true) && self.ban_expires.is_none_or(|until| until > now)
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub user_id: String,
    pub impersonated_by: Option<String>,
}

impl Session {
    pub fn from_row(row: &Row, at: usize) -> Self {
        Self::try_from_row(row, at).unwrap_or_else(|e| panic!("a session row: {e}"))
    }

    /// The session in `row` from column `at`; an error for a value auth cannot read.
    pub fn try_from_row(row: &Row, at: usize) -> Result<Self, tokio_postgres::Error> {
        Ok(Session {
            id: row.try_get(at)?,
            token: row.try_get(at + SESSION_TOKEN_COLUMN)?,
            expires_at: row.try_get(at + 2)?,
            created_at: row.try_get(at + 3)?,
            updated_at: row.try_get(at + 4)?,
            ip_address: row.try_get(at + 5)?,
            user_agent: row.try_get(at + 6)?,
            user_id: row.try_get(at + 7)?,
            impersonated_by: row.try_get(at + 8)?,
        })
    }
}
