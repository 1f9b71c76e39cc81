//! Roles and bans.

use chrono::{DateTime, Utc};

use super::{changed, existing, stored_roles, Actor, Denied};
use crate::db::models::User;
use crate::db::{sessions, users};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::state::AppState;

pub const ROLE_DENIED: Denied = (
    error_codes::YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE,
    "You are not allowed to change users role",
);
pub const BAN_DENIED: Denied = (
    error_codes::YOU_ARE_NOT_ALLOWED_TO_BAN_USERS,
    "You are not allowed to ban users",
);

pub async fn set_role(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    roles: &[String],
) -> ApiResult<User> {
    actor.authorize("user", "set-role", ROLE_DENIED)?;
    let role = stored_roles(state, roles)?;
    let mut client = state.db().await?;
    let tx = actor.begin(&mut client, ROLE_DENIED).await?;
    let target = existing(&tx, user_id).await?;
    role_change(&tx, &target, &role).await?;
    users::set_role(&tx, user_id, &role).await?;
    actor
        .record(&tx, "set-role", Some(&target), &format!("role={role}"))
        .await?;
    let user = existing(&tx, user_id).await?;
    tx.commit().await?;
    changed(state);
    Ok(user)
}

/// What giving `target` the stored role `role` means beyond the row, in the admin action's
/// transaction that stores it (which holds [`users::lock_the_admins`], so two admins taking the
/// role from each other at once are counted one after the other): taking the role away is refused
/// if no other admin who is not banned would be left (only the `set-role` CLI could make one
/// then); the impersonations the change leaves wrong end
/// ([`sessions::end_impersonations_for_role`]).
pub(super) async fn role_change(
    tx: &impl deadpool_postgres::GenericClient,
    target: &User,
    role: &str,
) -> ApiResult<()> {
    let demoted = target.is_admin() && !crate::db::models::holds_admin(role);
    if demoted && users::other_admins_not_banned(tx, &target.id).await? == 0 {
        return Err(ApiError::bad_request(
            error_codes::YOU_CANNOT_TAKE_THE_ROLE_OF_THE_LAST_ADMIN,
            "You cannot take the admin role from the last admin",
        ));
    }
    sessions::end_impersonations_for_role(tx, target, role).await?;
    Ok(())
}

/// Bans `user_id` (until `expires`, or for good) and ends all their sessions at once.
pub async fn ban(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    reason: Option<&str>,
    expires: Option<DateTime<Utc>>,
) -> ApiResult<User> {
    actor.authorize("user", "ban", BAN_DENIED)?;
    let mut client = state.db().await?;
    let tx = actor.begin(&mut client, BAN_DENIED).await?;
    let target = existing(&tx, user_id).await?;
    if actor.user.id == user_id {
        return Err(ApiError::bad_request(
            error_codes::YOU_CANNOT_BAN_YOURSELF,
            "You cannot ban yourself",
        ));
    }
    let reason = reason.filter(|r| !r.is_empty()).unwrap_or("No reason");
    users::set_ban(&tx, user_id, true, Some(reason), expires).await?;
    sessions::delete_all_for_user(&tx, user_id).await?;
    let until = expires.map_or("never".to_owned(), |e| e.to_rfc3339());
    actor
        .record(
            &tx,
            "ban-user",
            Some(&target),
            // The reason is free text, quoted so that it cannot pass for the ban's length.
            &format!("reason={}; until={until}", serde_json::Value::from(reason)),
        )
        .await?;
    let user = existing(&tx, user_id).await?;
    tx.commit().await?;
    changed(state);
    Ok(user)
}

/// Lifts the ban of `user_id`. A user who is not banned is left as they are, and nothing is
/// recorded: entries that say nothing would only bury the others.
pub async fn unban(state: &AppState, actor: &Actor, user_id: &str) -> ApiResult<User> {
    actor.authorize("user", "ban", BAN_DENIED)?;
    let mut client = state.db().await?;
    let tx = actor.begin(&mut client, BAN_DENIED).await?;
    let target = existing(&tx, user_id).await?;
    if target.banned != Some(true) {
        return Ok(target);
    }
    users::set_ban(&tx, user_id, false, None, None).await?;
    actor.record(&tx, "unban-user", Some(&target), "").await?;
    let user = existing(&tx, user_id).await?;
    tx.commit().await?;
    changed(state);
    Ok(user)
}
