//! Queries on `"user"`.

use super::models::{User, USER_COLUMNS};
use super::{now_ms, Client};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

/// The user with this address in any form (see `normalize_email`); a row stored before
/// addresses were normalised is found by its normalised form (`migrations/0006_…`).
pub async fn by_email(
    client: &impl GenericClient,
    email: &str,
) -> Result<Option<User>, tokio_postgres::Error> {
    let email = normalize_email(email);
    let sql = format!(
        r#"select {USER_COLUMNS} from "user" u
           where u."email" = $1 or lower(normalize(u."email", NFC)) = $1
           order by u."email" = $1 desc limit 1"#
    );
    let stmt = client.prepare_cached(&sql).await?;
    Ok(client
        .query_opt(&stmt, &[&email])
        .await?
        .map(|r| User::from_row(&r, 0)))
}

/// The one form an address is stored and compared in: trimmed, Unicode NFC, lower case (so
/// `José@X.com`, its decomposed form and ` jose@x.com ` are one account).
pub fn normalize_email(email: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let composed: String = email.trim().nfc().collect();
    composed.to_lowercase().nfc().collect()
}

pub async fn by_id(
    client: &impl GenericClient,
    id: &str,
) -> Result<Option<User>, tokio_postgres::Error> {
    let sql = format!(r#"select {USER_COLUMNS} from "user" u where u."id" = $1"#);
    Ok(client
        .query_opt(&sql, &[&id])
        .await?
        .map(|r| User::from_row(&r, 0)))
}

/// The additional fields `fields` as a stored user answers them (`User::extra`): each value
/// through its column's type (a number as the stored double, a date as the stored instant), and
/// every other column null. For an answer that must not differ from a real user's.
pub async fn extra_as_stored(
    client: &impl GenericClient,
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>, tokio_postgres::Error> {
    let sql = format!(
        r#"select {} from jsonb_populate_record(null::"user", $1::text::jsonb) u"#,
        super::models::USER_EXTRA_COLUMN
    );
    let fields = serde_json::Value::Object(fields.clone()).to_string();
    let row = client.query_one(&sql, &[&fields]).await?;
    Ok(serde_json::from_str(row.get(0)).unwrap_or_default())
}

/// Inserts a user with the normalised address; `Ok(false)` when the address is taken, in any
/// form (a legacy row stored unnormalised counts too).
pub async fn insert(
    client: &impl GenericClient,
    id: &str,
    name: &str,
    email: &str,
    image: Option<&str>,
) -> Result<bool, tokio_postgres::Error> {
    let now = now_ms();
    let email = normalize_email(email);
    let n = client
        .execute(
            r#"insert into "user" ("id", "name", "email", "emailVerified", "image", "createdAt", "updatedAt", "twoFactorEnabled", "role", "banned")
               select $1, $2, $3, false, $4, $5, $5, false, 'user', false
               where not exists (select 1 from "user" where lower(normalize("email", NFC)) = $3)
               on conflict ("email") do nothing"#,
            &[&id, &name, &email, &image, &now],
        )
        .await?;
    Ok(n == 1)
}

/// Marks `email` proved for user `id` while it is still the user's address (one changed since it
/// was read, by an admin or a change-email, is not the one proved); `false` when it was not.
pub async fn set_email_verified(
    client: &impl GenericClient,
    id: &str,
    email: &str,
) -> Result<bool, tokio_postgres::Error> {
    Ok(client
        .execute(
            r#"update "user" set "emailVerified" = true, "updatedAt" = $2 where "id" = $1 and "email" = $3"#,
            &[&id, &now_ms(), &email],
        )
        .await?
        == 1)
}

/// How [`change_email`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum EmailChange {
    Changed,
    /// The user's address is no longer `from` (the link was used, or overtaken by another), or
    /// the credentials changed after they were checked.
    Stale,
    /// Another user holds the new address (in any form).
    Taken,
}

/// Moves user `id` from address `from` to `to` in one statement, only while the address is still
/// `from`, the user's credentials are still `credentials` (a reset or a sign-out everywhere that
/// commits after they were checked still wins) and no user holds `to` in any form.
pub async fn change_email(
    client: &impl GenericClient,
    id: &str,
    from: &str,
    to: &str,
    credentials: &super::credential_epoch::Credentials,
) -> Result<EmailChange, tokio_postgres::Error> {
    let (from, to) = (normalize_email(from), normalize_email(to));
    let [password_hash, epoch, address_moves] =
        super::credential_epoch::credentials_sql("$1", "$5");
    let changed = client
        .execute(
            &format!(
                r#"update "user" set "email" = $3, "updatedAt" = $4
               where "id" = $1 and lower(normalize("email", NFC)) = $2
                 and not exists (select 1 from "user" where lower(normalize("email", NFC)) = $3)
                 and {password_hash} is not distinct from $6
                 and {epoch} = $7 and {address_moves} = $8"#
            ),
            &[
                &id,
                &from,
                &to,
                &now_ms(),
                &super::accounts::CREDENTIAL,
                &credentials.password_hash,
                &credentials.epoch,
                &credentials.address_moves,
            ],
        )
        .await;
    match changed {
        Ok(1) => Ok(EmailChange::Changed),
        // A concurrent insert of the same address lost to the unique index.
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
            Ok(EmailChange::Taken)
        }
        Err(e) => Err(e),
        Ok(_) if by_email(client, &to).await?.is_some_and(|u| u.id != id) => Ok(EmailChange::Taken),
        Ok(_) => Ok(EmailChange::Stale),
    }
}

pub async fn update_profile(
    client: &impl GenericClient,
    id: &str,
    name: Option<&str>,
    image: Option<Option<&str>>,
) -> Result<(), tokio_postgres::Error> {
    let set_image = image.is_some();
    let image = image.flatten();
    client
        .execute(
            r#"update "user" set "name" = coalesce($2, "name"),
                 "image" = case when $3 then $4 else "image" end,
                 "updatedAt" = $5 where "id" = $1"#,
            &[&id, &name, &set_image, &image, &now_ms()],
        )
        .await?;
    Ok(())
}

pub async fn set_two_factor_enabled(
    client: &impl GenericClient,
    id: &str,
    enabled: bool,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"update "user" set "twoFactorEnabled" = $2, "updatedAt" = $3 where "id" = $1"#,
            &[&id, &enabled, &now_ms()],
        )
        .await?;
    Ok(())
}

/// Takes the user's row for writing (`for no key update`), held until the transaction ends: it
/// waits for every share lock on the row (`current_session::still_so`'s) to be let go, and makes
/// every later one wait. A transaction that writes the row after checking under `still_so`'s
/// lock takes this first: holding the row only shared, it would wait to write it for every other
/// share lock to go while holding its own and what it wrote before, and two of them, or one and
/// another sharing the row that waits for what the first wrote (`generate-backup-codes` for the
/// enrolment `verify-totp` marks verified), deadlock. `false` when there is no such user.
pub async fn hold_for_writing(
    tx: &impl GenericClient,
    id: &str,
) -> Result<bool, tokio_postgres::Error> {
    Ok(tx
        .execute(
            r#"select 1 from "user" where "id" = $1 for no key update"#,
            &[&id],
        )
        .await?
        == 1)
}

/// Waits for (then holds until the transaction ends) the lock every admin action and the
/// `set-role` CLI take, so that they run one at a time: admins are counted one change at a
/// time, and an action reads its admin after the ban or new role of the one before.
pub async fn lock_the_admins(client: &impl GenericClient) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "select pg_advisory_xact_lock(hashtextextended('stackr-auth admins', 0))",
            &[],
        )
        .await?;
    Ok(())
}

/// SQL that is true while the ban of the user row `u` runs at `now` (an SQL expression): banned,
/// for ever or until a time still to come. [`User::is_banned`] in SQL.
pub fn ban_runs(now: &str) -> String {
    format!(
        r#"(coalesce(u."banned", false) and (u."banExpires" is null or u."banExpires" > {now}))"#
    )
}

/// Users other than `id` who hold the admin role and are not banned now.
pub async fn other_admins_not_banned(
    client: &impl GenericClient,
    id: &str,
) -> Result<i64, tokio_postgres::Error> {
    let row = client
        .query_one(
            &format!(
                r#"select count(*) from "user" u
                   where u."id" <> $1
                     and 'admin' = any(string_to_array(replace(coalesce(u."role", 'user'), ' ', ''), ','))
                     and not {}"#,
                ban_runs("$2")
            ),
            &[&id, &now_ms()],
        )
        .await?;
    Ok(row.get(0))
}

pub async fn set_role(
    client: &impl GenericClient,
    id: &str,
    role: &str,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            r#"update "user" set "role" = $2, "updatedAt" = $3 where "id" = $1"#,
            &[&id, &role, &now_ms()],
        )
        .await
}

pub async fn set_ban(
    client: &impl GenericClient,
    id: &str,
    banned: bool,
    reason: Option<&str>,
    expires: Option<DateTime<Utc>>,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            r#"update "user" set "banned" = $2, "banReason" = $3, "banExpires" = $4, "updatedAt" = $5 where "id" = $1"#,
            &[&id, &banned, &reason, &expires, &now_ms()],
        )
        .await
}

/// Lifts the user's ban if it is still one that has expired: a ban an admin set since (a new one,
/// or one without end) stays.
pub async fn lift_expired_ban(
    client: &impl GenericClient,
    id: &str,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            r#"update "user" set "banned" = false, "banReason" = null, "banExpires" = null, "updatedAt" = $2
               where "id" = $1 and "banned" and "banExpires" <= now()"#,
            &[&id, &now_ms()],
        )
        .await
}

/// What an admin changes on a user; `None` leaves a column as it is.
#[derive(Debug, Default)]
pub struct Changes {
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub image: Option<Option<String>>,
    /// Comma-joined, as stored.
    pub role: Option<String>,
    pub banned: Option<bool>,
    pub ban_reason: Option<Option<String>>,
    pub ban_expires: Option<Option<DateTime<Utc>>>,
}

pub async fn update(
    client: &impl GenericClient,
    id: &str,
    c: &Changes,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            r#"update "user" set "name" = coalesce($2, "name"), "email" = coalesce($3, "email"),
                 "emailVerified" = coalesce($4, "emailVerified"),
                 "image" = case when $5 then $6 else "image" end, "role" = coalesce($7, "role"),
                 "banned" = coalesce($8, "banned"),
                 "banReason" = case when $9 then $10 else "banReason" end,
                 "banExpires" = case when $11 then $12 else "banExpires" end,
                 "updatedAt" = $13 where "id" = $1"#,
            &[
                &id,
                &c.name,
                &c.email.as_deref().map(normalize_email),
                &c.email_verified,
                &c.image.is_some(),
                &c.image.clone().flatten(),
                &c.role,
                &c.banned,
                &c.ban_reason.is_some(),
                &c.ban_reason.clone().flatten(),
                &c.ban_expires.is_some(),
                &c.ban_expires.flatten(),
                &now_ms(),
            ],
        )
        .await
}

/// Deletes the user; sessions, accounts, 2FA and provisioning records go with it (cascade).
pub async fn delete(client: &impl GenericClient, id: &str) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(r#"delete from "user" where "id" = $1"#, &[&id])
        .await
}

/// Admin listing: optional search on email or name, paging, newest first by default.
pub struct ListQuery {
    pub search_field: &'static str,
    pub search_pattern: Option<String>,
    pub limit: i64,
    pub offset: i64,
    pub sort_by: &'static str,
    pub descending: bool,
    /// Only users holding this role (users without a role count as `user`).
    pub role: Option<String>,
    /// Only banned (`true`) or only not banned (`false`) users: a ban whose time ran out is over
    /// ([`ban_runs`]).
    pub banned: Option<bool>,
}

pub async fn list(
    client: &Client,
    q: &ListQuery,
) -> Result<(Vec<User>, i64), tokio_postgres::Error> {
    // search_field and sort_by come from fixed allow-lists, never from raw input.
    let filter = format!(
        r#"($1::text is null or lower(u."{}") like lower($1))
           and ($2::text is null or $2 = any(string_to_array(coalesce(u."role", 'user'), ',')))
           and ($3::bool is null or {} = $3)"#,
        q.search_field,
        ban_runs("now()")
    );
    let dir = if q.descending { "desc" } else { "asc" };
    let sql = format!(
        r#"select {USER_COLUMNS} from "user" u where {filter} order by u."{}" {dir}, u."id" limit $4 offset $5"#,
        q.sort_by
    );
    let rows = client
        .query(
            &sql,
            &[&q.search_pattern, &q.role, &q.banned, &q.limit, &q.offset],
        )
        .await?;
    let total: i64 = client
        .query_one(
            &format!(r#"select count(*) from "user" u where {filter}"#),
            &[&q.search_pattern, &q.role, &q.banned],
        )
        .await?
        .get(0);
    Ok((rows.iter().map(|r| User::from_row(r, 0)).collect(), total))
}
