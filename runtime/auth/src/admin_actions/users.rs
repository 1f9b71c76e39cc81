//! Creating, changing and removing users; setting their password or mailing them a reset link.

use super::{changed, existing, stored_roles, Actor, Denied};
use crate::db::models::User;
use crate::db::{accounts, sessions, users};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::password;
use crate::state::AppState;

const CREATE_DENIED: Denied = (
    error_codes::YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS,
    "You are not allowed to create users",
);
pub const UPDATE_DENIED: Denied = (
    error_codes::YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS,
    "You are not allowed to update users",
);
const DELETE_DENIED: Denied = (
    error_codes::YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS,
    "You are not allowed to delete users",
);
pub(crate) const PASSWORD_DENIED: Denied = (
    error_codes::YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD,
    "You are not allowed to set users password",
);
const EMAIL_DENIED: Denied = (
    error_codes::YOU_ARE_NOT_ALLOWED_TO_SET_USERS_EMAIL,
    "You are not allowed to update users email",
);

fn email_taken() -> ApiError {
    ApiError::bad_request(
        error_codes::USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL,
        "User already exists. Use another email.",
    )
}

fn invalid_email() -> ApiError {
    ApiError::bad_request(error_codes::INVALID_EMAIL, "Invalid email")
}

async fn hash(password_in: String) -> ApiResult<String> {
    Ok(
        tokio::task::spawn_blocking(move || password::hash(&password_in))
            .await
            .map_err(ApiError::internal)??,
    )
}

pub struct NewUser {
    pub email: String,
    pub name: String,
    /// Without one the user has no credential account (social sign-in or a reset mail later).
    pub password: Option<String>,
    pub roles: Option<Vec<String>>,
    pub email_verified: bool,
}

pub async fn create_user(state: &AppState, actor: &Actor, new: NewUser) -> ApiResult<User> {
    actor.authorize("user", "create", CREATE_DENIED)?;
    let role = match &new.roles {
        Some(roles) => {
            actor.authorize("user", "set-role", super::moderation::ROLE_DENIED)?;
            Some(stored_roles(state, roles)?)
        }
        None => None,
    };
    if !crate::body::looks_like_email(new.email.trim()) {
        return Err(invalid_email());
    }
    let hashed = match new.password {
        Some(p) if !p.is_empty() => {
            if p.chars().count() > password::MAX_LENGTH {
                return Err(ApiError::bad_request(
                    error_codes::PASSWORD_TOO_LONG,
                    "Password too long",
                ));
            }
            Some(hash(p).await?)
        }
        _ => None,
    };
    // The additional fields' defaults (an admin sets no additional field here).
    let fields = crate::user_fields::from_body(
        &state.config.user_fields,
        &serde_json::Map::new(),
        crate::user_fields::Action::Create,
    )?;
    let mut client = state.db().await?;
    let tx = actor.begin(&mut client, CREATE_DENIED).await?;
    let id = crate::ids::new_id();
    if !users::insert(&tx, &id, &new.name, &new.email, None).await? {
        return Err(email_taken());
    }
    crate::user_fields::store(&tx, &id, &fields).await?;
    let changes = users::Changes {
        role,
        email_verified: Some(new.email_verified),
        ..Default::default()
    };
    users::update(&tx, &id, &changes).await?;
    if let Some(h) = hashed {
        accounts::insert_credential(&tx, &id, &h).await?;
    }
    let user = existing(&tx, &id).await?;
    let detail = format!("role={}", user.role.as_deref().unwrap_or("user"));
    actor
        .record(&tx, "create-user", Some(&user), &detail)
        .await?;
    tx.commit().await?;
    changed(state);
    Ok(user)
}

/// Applies `changes` (already read from the request); `detail` describes them for the log.
pub async fn update_user(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    mut changes: users::Changes,
    roles: Option<Vec<String>>,
    detail: &str,
) -> ApiResult<User> {
    actor.authorize("user", "update", UPDATE_DENIED)?;
    if let Some(roles) = roles {
        actor.authorize("user", "set-role", super::moderation::ROLE_DENIED)?;
        changes.role = Some(stored_roles(state, &roles)?);
    }
    let touches_ban =
        changes.banned.is_some() || changes.ban_reason.is_some() || changes.ban_expires.is_some();
    if touches_ban {
        actor.authorize("user", "ban", super::moderation::BAN_DENIED)?;
        if changes.banned == Some(true) && user_id == actor.user.id {
            return Err(ApiError::bad_request(
                error_codes::YOU_CANNOT_BAN_YOURSELF,
                "You cannot ban yourself",
            ));
        }
    }
    let mut client = state.db().await?;
    let tx = actor.begin(&mut client, UPDATE_DENIED).await?;
    if changes.email.is_some() || changes.email_verified.is_some() {
        actor.authorize("user", "set-email", EMAIL_DENIED)?;
    }
    if let Some(email) = &changes.email {
        if !crate::body::looks_like_email(email.trim()) {
            return Err(invalid_email());
        }
        if users::by_email(&tx, email)
            .await?
            .is_some_and(|other| other.id != user_id)
        {
            return Err(email_taken());
        }
    }
    let target = existing(&tx, user_id).await?;
    if let Some(role) = &changes.role {
        super::moderation::role_change(&tx, &target, role).await?;
    }
    users::update(&tx, user_id, &changes).await?;
    if changes.banned == Some(true) {
        sessions::delete_all_for_user(&tx, user_id).await?;
    }
    let moves_address = changes
        .email
        .as_deref()
        .is_some_and(|new| users::normalize_email(new) != users::normalize_email(&target.email));
    if moves_address {
        // The reset links and sign-in codes mailed to the old address must not outlive it, nor
        // change-email links asked for before.
        crate::routes::change_email::address_moved(&tx, user_id).await?;
    } else if changes.email_verified == Some(true) && !target.email_verified {
        crate::routes::email_verification::address_proved(state, &tx, &target).await?;
    }
    actor
        .record(&tx, "update-user", Some(&target), detail)
        .await?;
    let user = existing(&tx, user_id).await?;
    tx.commit().await?;
    changed(state);
    Ok(user)
}

/// Deletes the user with everything that hangs on them (sessions first, so base services stop
/// accepting them even before the row is gone from their cache).
pub async fn remove_user(state: &AppState, actor: &Actor, user_id: &str) -> ApiResult<()> {
    actor.authorize("user", "delete", DELETE_DENIED)?;
    if user_id == actor.user.id {
        return Err(ApiError::bad_request(
            error_codes::YOU_CANNOT_REMOVE_YOURSELF,
            "You cannot remove yourself",
        ));
    }
    let mut client = state.db().await?;
    let tx = actor.begin(&mut client, DELETE_DENIED).await?;
    let target = existing(&tx, user_id).await?;
    sessions::delete_all_for_user(&tx, user_id).await?;
    users::delete(&tx, user_id).await?;
    actor.record(&tx, "remove-user", Some(&target), "").await?;
    tx.commit().await?;
    changed(state);
    Ok(())
}

/// Sets a new password (creating the credential account when the user had none) and ends every
/// session of the user, an admin's impersonation of them among them, with every credential
/// derived from one, as a reset does: an admin sets a password for an account that was taken
/// over, whose taker must not stay signed in. BetterAuth leaves the sessions; the answer is its.
pub async fn set_password(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    new_password: String,
) -> ApiResult<()> {
    actor.authorize("user", "set-password", PASSWORD_DENIED)?;
    password::check_length(&new_password)?;
    let hashed = hash(new_password).await?;
    let mut client = state.db().await?;
    let tx = actor.begin(&mut client, PASSWORD_DENIED).await?;
    let target = existing(&tx, user_id).await?;
    accounts::set_credential_password(&tx, user_id, &hashed).await?;
    crate::db::credential_epoch::password_not_by_mail(&tx, user_id).await?;
    crate::routes::password_reset::forget_what_the_old_password_started(&tx, user_id).await?;
    sessions::delete_all_for_user(&tx, user_id).await?;
    actor
        .record(&tx, "set-user-password", Some(&target), "")
        .await?;
    tx.commit().await?;
    changed(state);
    Ok(())
}

/// Mails the user a password-reset link (the dashboard's "force reset").
pub async fn send_password_reset(state: &AppState, actor: &Actor, user_id: &str) -> ApiResult<()> {
    actor.authorize("user", "set-password", PASSWORD_DENIED)?;
    if !state.mailer.is_enabled() {
        return Err(ApiError::bad_request(
            error_codes::RESET_PASSWORD_DISABLED,
            "Reset password isn't enabled",
        ));
    }
    let mut client = state.db().await?;
    let tx = actor.begin(&mut client, PASSWORD_DENIED).await?;
    let target = existing(&tx, user_id).await?;
    crate::routes::password_reset::send_reset_mail(state, &tx, &target, None).await?;
    actor
        .record(&tx, "send-password-reset", Some(&target), "")
        .await?;
    tx.commit().await?;
    Ok(())
}
