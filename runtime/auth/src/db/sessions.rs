//! Queries on `"session"`.

use super::models::{
    Session, User, SESSION_COLUMNS, SESSION_COLUMN_COUNT, USER_BASE_COLUMNS, USER_EXTRA_COLUMN,
    USER_SERVICES_COLUMN,
};
use super::{credential_epoch, now_ms, Client};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

/// The most live sessions of their own a user holds, and the most impersonations an admin runs
/// (see [`Holder`]): issuing one more ends their least recently used
/// ([`end_least_recently_used`]). Far more than one person signs in on across their devices
/// within a session's lifetime; without a bound, a script signing in again and again (from many
/// addresses, past the per-IP limits), or impersonating again and again with an admin's session,
/// piled up rows that `list-sessions`, the admin API's `list-user-sessions` and
/// `revoke-sessions` each handle in one go.
pub const MAX_LIVE_PER_USER: i64 = 100;

/// Whose live sessions the bound of [`MAX_LIVE_PER_USER`] counts.
#[derive(Clone, Copy)]
pub enum Holder<'a> {
    /// A user's own sessions. Impersonations of them are not: they are an admin's sessions in
    /// the user's name (ended with the admin's), and signing in must not end an admin's.
    User(&'a str),
    /// The impersonations an admin runs, of whichever users: sessions the admin holds.
    Impersonator(&'a str),
}

impl Holder<'_> {
    /// The person holding the sessions.
    fn id(&self) -> &str {
        match self {
            Holder::User(id) | Holder::Impersonator(id) => id,
        }
    }

    /// The condition on a `"session"` row that it is one of theirs, the id as `$1`.
    fn sessions(&self) -> &'static str {
        match self {
            Holder::User(_) => r#""userId" = $1 and "impersonatedBy" is null"#,
            Holder::Impersonator(_) => r#""impersonatedBy" = $1"#,
        }
    }
}

pub struct NewSession<'a> {
    pub user_id: &'a str,
    pub token: &'a str,
    pub expires_at: DateTime<Utc>,
    pub ip_address: &'a str,
    pub user_agent: &'a str,
    /// The admin acting as this user (an impersonation session).
    pub impersonated_by: Option<&'a str>,
}

pub async fn insert(
    client: &impl GenericClient,
    s: &NewSession<'_>,
) -> Result<Session, tokio_postgres::Error> {
    let now = now_ms();
    let id = crate::ids::new_id();
    let sql = format!(
        r#"insert into "session" as s ("id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId", "impersonatedBy")
           values ($1, $2, $3, $4, $4, $5, $6, $7, $8) returning {SESSION_COLUMNS}"#
    );
    let row = client
        .query_one(
            &sql,
            &[
                &id,
                &s.expires_at,
                &s.token,
                &now,
                &s.ip_address,
                &s.user_agent,
                &s.user_id,
                &s.impersonated_by,
            ],
        )
        .await?;
    Ok(Session::from_row(&row, 0))
}

/// Makes the transaction the only one issuing a session to `user_id` until it ends: the share
/// lock on the user's row that issuing holds ([`hold_user_while_issuing`]) lets sign-ins run
/// together, and two of them each counting the user's sessions without the other's would leave
/// one more than [`MAX_LIVE_PER_USER`]. (Impersonations need no such lock: they are admin
/// actions, which run one at a time.)
pub async fn issue_one_at_a_time(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "select pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&format!("session-issue:{user_id}")],
        )
        .await?;
    Ok(())
}

/// Ends `holder`'s live sessions beyond [`MAX_LIVE_PER_USER`], the least recently used first
/// (`updatedAt`: created, or last slid by get-session), never `kept_id` (the one just issued), as
/// `revoke-session` ends one: the row goes, and what hangs on it (`session_sign_in`) with it.
/// The session of token `replacing`, which the new one replaces, is neither counted nor ended.
/// A user's own sessions and an admin's impersonations are bounded apart (see [`Holder`]),
/// an admin's own sessions counting as a user's. A session
/// held by a transaction in flight (one being replaced, or checked by a request that must not
/// outlive it) is passed over for the next one rather than waited for: the one holding it may be
/// waiting to issue a session to the same user. How many it ended; the caller flushes the
/// session cache once they are committed.
pub async fn end_least_recently_used(
    client: &impl GenericClient,
    holder: Holder<'_>,
    kept_id: &str,
    replacing: Option<&str>,
) -> Result<u64, tokio_postgres::Error> {
    let now = now_ms();
    let theirs = holder.sessions();
    let live: i64 = client
        .query_one(
            &format!(
                r#"select count(*) from "session"
                   where {theirs} and "expiresAt" > $2 and "token" is distinct from $3"#
            ),
            &[&holder.id(), &now, &replacing],
        )
        .await?
        .get(0);
    let beyond = live - MAX_LIVE_PER_USER;
    if beyond <= 0 {
        return Ok(0);
    }
    client
        .execute(
            &format!(
                r#"delete from "session" where "id" in (
                     select "id" from "session"
                     where {theirs} and "expiresAt" > $2 and "id" <> $3
                       and "token" is distinct from $5
                     order by "updatedAt", "createdAt" limit $4 for update skip locked)"#
            ),
            &[&holder.id(), &now, &kept_id, &beyond, &replacing],
        )
        .await
}

/// The session + user statement for a token array (`$1`, `text[]`): what get-session's readers
/// send (see `session_reads`). The provisioned services and the other columns cost PostgreSQL a
/// sub-query and a JSON conversion per row: with `services` or `extra` false, a constant takes
/// their place (an empty list, an empty object), for a service that shows neither.
pub fn find_with_users_sql(services: bool, extra: bool) -> String {
    let services = if services {
        USER_SERVICES_COLUMN
    } else {
        "'{}'::text[]"
    };
    let extra = if extra { USER_EXTRA_COLUMN } else { "'{}'" };
    format!(
        r#"select {SESSION_COLUMNS}, {USER_BASE_COLUMNS}, {services}, {extra} from "session" s join "user" u on u."id" = s."userId" where s."token" = any($1)"#
    )
}

/// The statement with every column, built once.
static FIND_WITH_USER: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| find_with_users_sql(true, true));

/// The session of `token` with its user, every column read.
pub async fn find_with_user(
    client: &Client,
    token: &str,
) -> Result<Option<(Session, User)>, tokio_postgres::Error> {
    let stmt = client.prepare_cached(&FIND_WITH_USER).await?;
    Ok(client.query_opt(&stmt, &[&&[token][..]]).await?.map(|row| {
        (
            Session::from_row(&row, 0),
            User::from_row(&row, SESSION_COLUMN_COUNT),
        )
    }))
}

/// Sliding refresh: pushes `expiresAt` from `read` (what the caller read) to `expires_at` and
/// stamps `updatedAt`; returns that stamp. `None` when the row no longer has the expiry read:
/// another request refreshed it, or it was expired or deleted since, which the refresh must
/// not write over.
pub async fn extend(
    client: &Client,
    id: &str,
    read: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, tokio_postgres::Error> {
    let now = now_ms();
    let changed = client
        .execute(
            r#"update "session" set "expiresAt" = $2, "updatedAt" = $3
               where "id" = $1 and "expiresAt" = $4"#,
            &[&id, &expires_at, &now, &read],
        )
        .await?;
    Ok((changed == 1).then_some(now))
}

pub async fn delete_by_token(
    client: &impl GenericClient,
    token: &str,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(r#"delete from "session" where "token" = $1"#, &[&token])
        .await
}

/// Deletes `token` only if it belongs to `user_id` (a user cannot revoke others' sessions).
pub async fn delete_user_token(
    client: &impl GenericClient,
    user_id: &str,
    token: &str,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            r#"delete from "session" where "token" = $1 and "userId" = $2"#,
            &[&token, &user_id],
        )
        .await
}

/// Waits until every session being issued to the user under a share lock on their row (a sign-in,
/// see `current_session::issue_if_still`) is committed, so that the delete that follows, a
/// statement of its own, sees it. A sign-in whose lock is granted after this statement started
/// reads, after it, the change (new password, ban) that the caller committed before calling.
async fn wait_for_sessions_being_issued(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<(), tokio_postgres::Error> {
    super::users::hold_for_writing(client, user_id).await?;
    Ok(())
}

/// Holds the user's row shared until the transaction ends, for one that writes a session in
/// their name (or anything else that must not outlive the end of their sessions,
/// `current_session::still_so`): everything that ends all the user's sessions waits for it before
/// deleting them ([`delete_all_for_user`], [`delete_others`]), so what it writes is committed
/// first and ended with them, or written after they were. A session's reference to the row (its
/// foreign key) alone does not make them wait. `false` when there is no such user.
pub async fn hold_user_while_issuing(
    tx: &impl GenericClient,
    user_id: &str,
) -> Result<bool, tokio_postgres::Error> {
    Ok(tx
        .execute(
            r#"select 1 from "user" where "id" = $1 for share"#,
            &[&user_id],
        )
        .await?
        == 1)
}

/// Ends every session of the user, and with them every credential a base service derived from
/// one (device sessions): the user's credential epoch moves on. The impersonations the user runs
/// as an admin end too: they are that admin's sessions, in another user's name. (BetterAuth ends
/// only the user's own, so an admin it bans or removes acts as others for up to an hour more.)
pub async fn delete_all_for_user(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<u64, tokio_postgres::Error> {
    wait_for_sessions_being_issued(client, user_id).await?;
    let deleted = client
        .execute(
            r#"delete from "session" where "userId" = $1 or "impersonatedBy" = $1"#,
            &[&user_id],
        )
        .await?;
    credential_epoch::bump(client, user_id).await?;
    Ok(deleted)
}

/// Ends the impersonations `admin_id` runs (sessions in other users' names).
pub async fn end_impersonations_by(
    client: &impl GenericClient,
    admin_id: &str,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            r#"delete from "session" where "impersonatedBy" = $1"#,
            &[&admin_id],
        )
        .await
}

/// Ends the impersonations of `user_id` (admins' sessions in their name): they are to gain no
/// admin powers when the user is given the admin role.
pub async fn end_impersonations_of(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            r#"delete from "session" where "userId" = $1 and "impersonatedBy" is not null"#,
            &[&user_id],
        )
        .await
}

/// Ends the impersonations a change of `user`'s role to `role` leaves wrong: those of a user made
/// an admin (an admin's session in their name would be one), and those an admin who is one no
/// more runs. Every way of setting a role (the admin API, the dashboard, the `set-role` CLI) ends
/// them so.
pub async fn end_impersonations_for_role(
    client: &impl GenericClient,
    user: &User,
    role: &str,
) -> Result<(), tokio_postgres::Error> {
    let becomes_admin = super::models::holds_admin(role);
    if becomes_admin && !user.is_admin() {
        end_impersonations_of(client, &user.id).await?;
    } else if user.is_admin() && !becomes_admin {
        end_impersonations_by(client, &user.id).await?;
    }
    Ok(())
}

/// Ends every session but `keep_token`, the impersonations the user runs as an admin among them
/// (see [`delete_all_for_user`]), and every credential derived from a session (device sessions,
/// including ones created from the kept session: they are other devices).
pub async fn delete_others(
    client: &impl GenericClient,
    user_id: &str,
    keep_token: &str,
) -> Result<u64, tokio_postgres::Error> {
    wait_for_sessions_being_issued(client, user_id).await?;
    let deleted = client
        .execute(
            r#"delete from "session" where ("userId" = $1 or "impersonatedBy" = $1) and "token" <> $2"#,
            &[&user_id, &keep_token],
        )
        .await?;
    credential_epoch::bump(client, user_id).await?;
    Ok(deleted)
}

pub async fn list_active(
    client: &Client,
    user_id: &str,
) -> Result<Vec<Session>, tokio_postgres::Error> {
    let sql = format!(
        r#"select {SESSION_COLUMNS} from "session" s where s."userId" = $1 and s."expiresAt" > $2 and s."impersonatedBy" is null order by s."createdAt""#
    );
    let rows = client.query(&sql, &[&user_id, &now_ms()]).await?;
    Ok(rows.iter().map(|r| Session::from_row(r, 0)).collect())
}

/// Every live session of the user, impersonations included (what an admin sees).
pub async fn list_live(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<Vec<Session>, tokio_postgres::Error> {
    let sql = format!(
        r#"select {SESSION_COLUMNS} from "session" s where s."userId" = $1 and s."expiresAt" > $2 order by s."createdAt""#
    );
    let rows = client.query(&sql, &[&user_id, &now_ms()]).await?;
    Ok(rows.iter().map(|r| Session::from_row(r, 0)).collect())
}

/// The user's `limit` newest live sessions, newest first, and how many live ones they have.
pub async fn newest_live(
    client: &impl GenericClient,
    user_id: &str,
    limit: i64,
) -> Result<(Vec<Session>, i64), tokio_postgres::Error> {
    let sql = format!(
        r#"select {SESSION_COLUMNS}, count(*) over () as "live" from "session" s
           where s."userId" = $1 and s."expiresAt" > $2 order by s."createdAt" desc limit $3"#
    );
    let rows = client.query(&sql, &[&user_id, &now_ms(), &limit]).await?;
    let live = rows.first().map_or(0, |r| r.get::<_, i64>("live"));
    Ok((rows.iter().map(|r| Session::from_row(r, 0)).collect(), live))
}

/// The user's live session with this id.
pub async fn live_by_id(
    client: &impl GenericClient,
    user_id: &str,
    id: &str,
) -> Result<Option<Session>, tokio_postgres::Error> {
    let sql = format!(
        r#"select {SESSION_COLUMNS} from "session" s
           where s."id" = $1 and s."userId" = $2 and s."expiresAt" > $3"#
    );
    Ok(client
        .query_opt(&sql, &[&id, &user_id, &now_ms()])
        .await?
        .map(|r| Session::from_row(&r, 0)))
}

/// The session with this id, live or not.
pub async fn by_id(
    client: &impl GenericClient,
    id: &str,
) -> Result<Option<Session>, tokio_postgres::Error> {
    let sql = format!(r#"select {SESSION_COLUMNS} from "session" s where s."id" = $1"#);
    Ok(client
        .query_opt(&sql, &[&id])
        .await?
        .map(|r| Session::from_row(&r, 0)))
}

/// Whether the session `token` of `user_id` is live, holding it until the transaction ends, for
/// a caller that already holds the user's row (`current_session::issue_if_still`).
pub async fn live_and_held_by_token(
    client: &impl GenericClient,
    token: &str,
    user_id: &str,
) -> Result<bool, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            r#"select 1 from "session" where "token" = $1 and "userId" = $2 and "expiresAt" > $3 for share"#,
            &[&token, &user_id, &now_ms()],
        )
        .await?
        .is_some())
}

/// Whether `user_id`'s own (not impersonated) session `id` is live, holding it until the
/// transaction ends: ending it then waits, so nothing it started completes after it ended. The
/// user's row is locked first, as every change that ends the user's sessions in a transaction
/// locks it (a ban, an admin's revocation): taken the other way round, the two would deadlock.
pub async fn live_and_held(
    client: &impl GenericClient,
    id: &str,
    user_id: &str,
) -> Result<bool, tokio_postgres::Error> {
    wait_for_sessions_being_issued(client, user_id).await?;
    Ok(client
        .query_opt(
            r#"select 1 from "session" where "id" = $1 and "userId" = $2 and "expiresAt" > $3 and "impersonatedBy" is null for share"#,
            &[&id, &user_id, &now_ms()],
        )
        .await?
        .is_some())
}

/// The session with this token, live or not.
pub async fn by_token(
    client: &impl GenericClient,
    token: &str,
) -> Result<Option<Session>, tokio_postgres::Error> {
    let sql = format!(r#"select {SESSION_COLUMNS} from "session" s where s."token" = $1"#);
    Ok(client
        .query_opt(&sql, &[&token])
        .await?
        .map(|r| Session::from_row(&r, 0)))
}
