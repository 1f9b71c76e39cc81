//! Admin actions: the one code path behind the admin API and the dashboard. Each action checks
//! the actor's permission, changes the database and writes its audit entry in one transaction,
//! then drops cached sessions so every base service sees the change at its next get-session.

mod moderation;
mod sessions;
mod users;

pub use moderation::{ban, set_role, unban};
pub use sessions::{
    impersonate, named_session, revocation_handle, revoke_session, revoke_sessions,
    IMPERSONATION_LIFETIME,
};
pub use users::{
    create_user, remove_user, send_password_reset, set_password, update_user, NewUser,
    UPDATE_DENIED,
};

use axum::http::StatusCode;

use crate::current_session::CurrentSession;
use crate::db::audit;
use crate::db::models::User;
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::state::AppState;

/// The signed-in admin doing something, and the address the request came from.
pub struct Actor {
    pub user: User,
    pub ip: String,
}

/// A refusal in the admin plugin's words: its code and message.
pub type Denied = (&'static str, &'static str);

impl Actor {
    /// The caller of an admin route or dashboard action, signed in as `current`. An
    /// impersonation of an admin is refused (see [`CurrentSession::is_admins_own`]); one of
    /// another user holds no admin permission.
    pub fn of(current: CurrentSession, ip: String) -> ApiResult<Actor> {
        if current.user.is_admin() && !current.is_admins_own() {
            return Err(ApiError::forbidden(
                error_codes::YOU_CANNOT_IMPERSONATE_ADMINS,
                "You cannot impersonate admins",
            ));
        }
        Ok(Actor {
            user: current.user,
            ip,
        })
    }

    /// Opens the transaction of an admin action, once the admin actions under way have ended:
    /// two admins banning each other, or one banning another who is starting an impersonation,
    /// run one after the other, never side by side. The actor is read again inside it, and one
    /// whom an action before banned, removed or gave other roles is refused with `denied`,
    /// though their session was live when the request came in.
    async fn begin<'c>(
        &self,
        client: &'c mut crate::db::Client,
        denied: Denied,
    ) -> ApiResult<deadpool_postgres::Transaction<'c>> {
        let tx = client.transaction().await?;
        crate::db::users::lock_the_admins(&tx).await?;
        match crate::db::users::by_id(&tx, &self.user.id).await? {
            Some(now) if now.role == self.user.role && !now.is_banned(crate::db::now_ms()) => {
                Ok(tx)
            }
            _ => Err(ApiError::forbidden(denied.0, denied.1)),
        }
    }

    /// `403` with `denied` unless the actor's roles grant `action` on `resource`.
    pub fn authorize(&self, resource: &str, action: &str, denied: Denied) -> ApiResult<()> {
        if crate::permissions::allows_one(&self.user, resource, action) {
            Ok(())
        } else {
            Err(ApiError::forbidden(denied.0, denied.1))
        }
    }

    /// Writes the audit entry for an action on `target` (the user acted on, if any).
    async fn record(
        &self,
        client: &impl deadpool_postgres::GenericClient,
        action: &str,
        target: Option<&User>,
        detail: &str,
    ) -> ApiResult<()> {
        audit::insert(
            client,
            &audit::Entry {
                actor_id: &self.user.id,
                actor_email: &self.user.email,
                action,
                target_id: target.map(|t| t.id.as_str()),
                target_email: target.map(|t| t.email.as_str()),
                detail,
                ip: &self.ip,
            },
        )
        .await?;
        Ok(())
    }
}

/// Records, in `tx`, a change an admin made through the user's own routes while impersonating
/// them (`current` is the impersonation): in the admin's name, as `impersonation:<action>`, with
/// the impersonation session and `detail`. The admin routes are out of an impersonation's reach,
/// so without this the audit log would not show what an admin did as the user. A session of the
/// user's own records nothing.
pub async fn record_if_impersonated(
    tx: &impl deadpool_postgres::GenericClient,
    current: &CurrentSession,
    ip: &str,
    action: &str,
    detail: &str,
) -> ApiResult<()> {
    let Some(admin_id) = &current.session.impersonated_by else {
        return Ok(());
    };
    let admin = crate::db::users::by_id(tx, admin_id).await?;
    audit::insert(
        tx,
        &audit::Entry {
            actor_id: admin_id,
            actor_email: admin.as_ref().map_or("", |a| a.email.as_str()),
            action: &format!("impersonation:{action}"),
            target_id: Some(&current.user.id),
            target_email: Some(&current.user.email),
            detail: &format!("session={}; {detail}", current.session.id),
            ip,
        },
    )
    .await?;
    Ok(())
}

pub fn user_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        error_codes::USER_NOT_FOUND,
        "User not found",
    )
}

/// The user with this id, or `404 USER_NOT_FOUND`.
async fn existing(client: &impl deadpool_postgres::GenericClient, id: &str) -> ApiResult<User> {
    crate::db::users::by_id(client, id)
        .await?
        .ok_or_else(user_not_found)
}

/// After a committed change: no base service may keep answering from a stale cached session.
fn changed(state: &AppState) {
    state.session_cache.invalidate_all();
}

/// The plugin's refusal for roles it does not know.
fn unknown_role() -> ApiError {
    ApiError::bad_request(
        error_codes::YOU_ARE_NOT_ALLOWED_TO_SET_A_NON_EXISTENT_ROLE_VALUE,
        "You are not allowed to set a non-existent role value",
    )
}

/// Checks roles against the stack's list and joins them the way they are stored.
fn stored_roles(state: &AppState, roles: &[String]) -> ApiResult<String> {
    if roles.is_empty() || roles.iter().any(|r| !state.config.roles.accepts(r)) {
        return Err(unknown_role());
    }
    Ok(roles.join(","))
}
