//! Ending a user's sessions, and impersonating a user.

use chrono::Duration;

use super::{changed, existing, Actor, Denied};
use crate::current_session::{self, StillSo};
use crate::db::models::{Session, User};
use crate::db::{self, sessions};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::state::AppState;

const REVOKE_DENIED: Denied = (
    error_codes::YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS,
    "You are not allowed to revoke users sessions",
);
const IMPERSONATE_DENIED: Denied = (
    error_codes::YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS,
    "You are not allowed to impersonate users",
);

/// How long an impersonation session lives (BetterAuth's default); it is never extended.
pub const IMPERSONATION_LIFETIME: Duration = Duration::hours(1);

/// Marks a [`revocation_handle`]; a session token has no `:`.
const HANDLE_PREFIX: &str = "session-id:";

/// What an admin is shown in place of a session's token: the token is a credential (used as
/// bearer, it would let one admin act as any user, another admin included, in their name and
/// unaudited), the handle only names the session for [`revoke_session`].
pub fn revocation_handle(session: &Session) -> String {
    format!("{HANDLE_PREFIX}{}", session.id)
}

/// The session `named` names: by its [`revocation_handle`] or its token.
pub async fn named_session(
    client: &impl deadpool_postgres::GenericClient,
    named: &str,
) -> Result<Option<Session>, tokio_postgres::Error> {
    match named.strip_prefix(HANDLE_PREFIX) {
        Some(id) => sessions::by_id(client, id).await,
        None => sessions::by_token(client, named).await,
    }
}

/// Ends one session, named by its [`revocation_handle`] or its token; an unknown one succeeds and
/// records nothing. The credentials derived from the user's sessions end with one of their own
/// (the credential epoch moves on), as when the user revokes it: an admin ending a stranger's
/// session in the user's name must not leave the stranger's device session good.
pub async fn revoke_session(state: &AppState, actor: &Actor, named: &str) -> ApiResult<()> {
    actor.authorize("session", "revoke", REVOKE_DENIED)?;
    let mut client = state.db().await?;
    let tx = actor.begin(&mut client, REVOKE_DENIED).await?;
    let found = named_session(&tx, named).await?;
    let Some(session) = found else {
        return Ok(());
    };
    let owner = existing(&tx, &session.user_id).await?;
    sessions::delete_by_token(&tx, &session.token).await?;
    if crate::routes::sessions::derives_credentials(&session) {
        db::credential_epoch::bump(&tx, &session.user_id).await?;
    }
    actor
        .record(
            &tx,
            "revoke-user-session",
            Some(&owner),
            &format!("session={}", session.id),
        )
        .await?;
    tx.commit().await?;
    changed(state);
    Ok(())
}

/// Ends every session of the user (and every credential derived from one).
pub async fn revoke_sessions(state: &AppState, actor: &Actor, user_id: &str) -> ApiResult<()> {
    actor.authorize("session", "revoke", REVOKE_DENIED)?;
    let mut client = state.db().await?;
    let tx = actor.begin(&mut client, REVOKE_DENIED).await?;
    let target = existing(&tx, user_id).await?;
    let n = sessions::delete_all_for_user(&tx, user_id).await?;
    actor
        .record(
            &tx,
            "revoke-user-sessions",
            Some(&target),
            &format!("sessions={n}"),
        )
        .await?;
    tx.commit().await?;
    changed(state);
    Ok(())
}

/// Opens a session as `user_id` marked with the admin's id, valid `IMPERSONATION_LIFETIME`.
/// Admins cannot be impersonated (no role holds `impersonate-admins`). `actor_token` is the
/// admin's own session the request came with.
pub async fn impersonate(
    state: &AppState,
    actor: &Actor,
    actor_token: &str,
    user_id: &str,
    user_agent: &str,
) -> ApiResult<(Session, User)> {
    actor.authorize("user", "impersonate", IMPERSONATE_DENIED)?;
    let mut client = state.db().await?;
    let tx = actor.begin(&mut client, IMPERSONATE_DENIED).await?;
    let target = existing(&tx, user_id).await?;
    if target.is_admin()
        && !crate::permissions::allows_one(&actor.user, "user", "impersonate-admins")
    {
        return Err(ApiError::forbidden(
            error_codes::YOU_CANNOT_IMPERSONATE_ADMINS,
            "You cannot impersonate admins",
        ));
    }
    // Only while the admin's session is live, held (with the admin's row) until the impersonation
    // is written: ending all the admin's sessions, a route of their own that no admin action
    // waits for, then waits for it and ends it too, or came first and this is refused. Without
    // it, a copy of the admin's cookie starting an impersonation while the admin signed out
    // everywhere kept acting as the user for the impersonation's lifetime.
    let still = [StillSo::SessionLive(actor_token)];
    if !current_session::still_so(&tx, &actor.user.id, &still).await? {
        // As the route answers a request whose session it does not find (BetterAuth's admin
        // plugin: an empty 401).
        return Err(ApiError::empty(axum::http::StatusCode::UNAUTHORIZED));
    }
    // The user's row too, held until the impersonation is written: a reset of their password (or
    // their signing out everywhere), which ends all their sessions, waits for it and ends it with
    // them, or came first. The session's reference to the row alone does not make the reset wait:
    // an impersonation written while one ran, committed after its delete, outlived it.
    if !sessions::hold_user_while_issuing(&tx, user_id).await? {
        return Err(super::user_not_found());
    }
    // An admin runs a bounded number of impersonations, as a user holds a bounded number of
    // sessions: the least recently used beyond it ends. Admin actions run one at a time (`begin`
    // took their lock), so no other impersonation is written while this one counts.
    let impersonator = sessions::Holder::Impersonator(&actor.user.id);
    let token = crate::ids::new_session_token();
    let session = sessions::insert(
        &tx,
        &sessions::NewSession {
            user_id,
            token: &token,
            expires_at: db::now_ms() + IMPERSONATION_LIFETIME,
            ip_address: &actor.ip,
            user_agent,
            impersonated_by: Some(&actor.user.id),
        },
    )
    .await?;
    let ended = sessions::end_least_recently_used(&tx, impersonator, &session.id, None).await?;
    // The audit says when an earlier impersonation ended for this one.
    let ended = if ended > 0 {
        format!("; ended={ended}")
    } else {
        String::new()
    };
    actor
        .record(
            &tx,
            "impersonate-user",
            Some(&target),
            &format!(
                "session={}; until={}{ended}",
                session.id,
                session.expires_at.to_rfc3339()
            ),
        )
        .await?;
    tx.commit().await?;
    changed(state);
    Ok((session, target))
}
