//! From a provider identity to a user, with BetterAuth's account-linking rules:
//!
//! * an identity already held by an account signs its user in;
//! * a new identity whose address belongs to an existing user is linked to that user only when
//!   the provider says the address is verified (or is trusted for linking) **and** the existing
//!   user has verified it too; otherwise `account_not_linked`, so an address someone typed into a
//!   provider never takes over an account;
//! * nor when the user's password was chosen before the address was proved (a sign-up), or the
//!   account moved to the address with its password or provider identities, until a password is
//!   set through a reset link (`credential_epoch::way_in_unproved`; BetterAuth links then):
//!   anyone may sign up first with another's address, or move their account to it, and keep that
//!   session, and the address's owner, once they had proved it (following a verification or
//!   change-email mail the stranger asked for), would sign in with their provider to an account
//!   whose password, sessions or provider identity are the stranger's. The owner signs in with a
//!   reset password instead, which ends those sessions and removes a moved account's provider
//!   identities linked before it (`routes::password_reset`);
//! * nor when the user has two-factor on (BetterAuth links then): the provider vouches for the
//!   address, most often because its mailbox answered, and whoever reads the mailbox (who can
//!   reset the password too) would then sign in without the second factor, which a social
//!   sign-in does not ask for. The owner links the identity signed in (`link-social`);
//! * otherwise a new user is created, only when the provider says the address is verified (or is
//!   trusted for linking): an account made from an address someone typed into a provider would
//!   hold it for them, and once the address's owner claimed it (a password reset through the
//!   mailbox) their identity, still linked, would sign in to it. `email_not_verified` otherwise.
//!
//! Each decision runs in a transaction holding a lock on the identity.

use crate::current_session::{self, StillSo};
use crate::db::models::User;
use crate::db::oauth_accounts::{self, Tokens};
use crate::db::{credential_epoch, users};
use crate::error::ApiResult;
use crate::state::AppState;

use super::exchange::Profile;
use super::flow_state::Link;
use super::ProviderConfig;

/// BetterAuth's `?error=` codes for refused identities.
pub const ACCOUNT_NOT_LINKED: &str = "account_not_linked";
pub const UNABLE_TO_CREATE_USER: &str = "unable_to_create_user";
pub const UNABLE_TO_LINK_ACCOUNT: &str = "unable_to_link_account";
pub const EMAIL_DOES_NOT_MATCH: &str = "email_does_not_match";
pub const EMAIL_NOT_VERIFIED: &str = "email_not_verified";
pub const ALREADY_LINKED_TO_ANOTHER_USER: &str = "account_already_linked_to_different_user";

/// Tokens sealed with the auth secret before they touch the database.
pub fn seal(state: &AppState, t: &Tokens) -> Tokens {
    let seal = |v: &Option<String>| v.as_deref().map(|v| state.secrets().encrypt(v));
    Tokens {
        access_token: seal(&t.access_token),
        refresh_token: seal(&t.refresh_token),
        id_token: seal(&t.id_token),
        access_token_expires_at: t.access_token_expires_at,
        refresh_token_expires_at: t.refresh_token_expires_at,
        scope: t.scope.clone(),
    }
}

/// Signs a provider identity in: `Ok((user, created))`, or the refusal code. The profile's email
/// must be present (the caller answers `email_not_found` otherwise).
pub async fn sign_in(
    state: &AppState,
    provider: &ProviderConfig,
    profile: &Profile,
    email: &str,
    tokens: &Tokens,
) -> ApiResult<Result<(User, bool), &'static str>> {
    let email = users::normalize_email(email);
    let mut client = state.db().await?;
    let tx = client.transaction().await?;
    oauth_accounts::lock_identity(&tx, &provider.id, &profile.subject).await?;
    let provider_vouches = profile.email_verified || provider.trusted_for_account_linking;
    let outcome = match oauth_accounts::owner(&tx, &provider.id, &profile.subject).await? {
        Some((account_row, user_id)) => {
            oauth_accounts::update_tokens(&tx, &account_row, tokens).await?;
            match users::by_id(&tx, &user_id).await? {
                Some(user) => Ok((user, false)),
                None => Err(UNABLE_TO_LINK_ACCOUNT),
            }
        }
        None => match users::by_email(&tx, &email).await? {
            Some(user) => {
                // Not to a user with two-factor on: providers verify addresses by mail, so the
                // mailbox alone would sign in, and a social sign-in asks for no second factor.
                if provider_vouches
                    && user.email_verified
                    && !user.two_factor_enabled
                    && !credential_epoch::way_in_unproved(&tx, &user.id).await?
                {
                    oauth_accounts::insert(&tx, &user.id, &provider.id, &profile.subject, tokens)
                        .await?;
                    Ok((user, false))
                } else {
                    Err(ACCOUNT_NOT_LINKED)
                }
            }
            None if !provider_vouches => Err(EMAIL_NOT_VERIFIED),
            None => {
                let id = crate::ids::new_id();
                let name = profile.name.as_deref().unwrap_or("");
                // The additional fields' defaults, as for a sign-up sending none of them; a
                // required field without one cannot be filled from a provider's profile.
                let Ok(fields) = crate::user_fields::from_body(
                    &state.config.user_fields,
                    &serde_json::Map::new(),
                    crate::user_fields::Action::Create,
                ) else {
                    return Ok(Err(UNABLE_TO_CREATE_USER));
                };
                if users::insert(&tx, &id, name, &email, profile.image.as_deref()).await? {
                    crate::user_fields::store(&tx, &id, &fields).await?;
                    if profile.email_verified {
                        users::set_email_verified(&tx, &id, &email).await?;
                    }
                    oauth_accounts::insert(&tx, &id, &provider.id, &profile.subject, tokens)
                        .await?;
                    match users::by_id(&tx, &id).await? {
                        Some(user) => Ok((user, true)),
                        None => Err(UNABLE_TO_CREATE_USER),
                    }
                } else {
                    Err(UNABLE_TO_CREATE_USER)
                }
            }
        },
    };
    if outcome.is_ok() {
        tx.commit().await?;
    }
    Ok(outcome)
}

/// Links a provider identity to the user who asked (`link-social`): `Ok(())` or the refusal code.
pub async fn link(
    state: &AppState,
    provider: &ProviderConfig,
    profile: &Profile,
    link: &Link,
    tokens: &Tokens,
) -> ApiResult<Result<(), &'static str>> {
    let mut client = state.db().await?;
    let tx = client.transaction().await?;
    oauth_accounts::lock_identity(&tx, &provider.id, &profile.subject).await?;
    // The session that asked must still be alive and the user's (BetterAuth checks the same),
    // and stays so until the link is written (`still_so` holds it, and the user's row): a
    // linked identity is a way in, and one linked after the owner signed out everywhere (or
    // was banned) would outlast that. The identity's lock comes first, as on a sign-in.
    let token = link
        .encrypted_session_token
        .as_deref()
        .and_then(|sealed| state.secrets().decrypt(sealed));
    let live = match token {
        Some(opened) => {
            let still = [StillSo::SessionLive(&opened.plaintext)];
            current_session::still_so(&tx, &link.user_id, &still).await?
        }
        None => false,
    };
    if !live || !(profile.email_verified || provider.trusted_for_account_linking) {
        return Ok(Err(UNABLE_TO_LINK_ACCOUNT));
    }
    let same_email = profile
        .email
        .as_deref()
        .is_some_and(|e| users::normalize_email(e) == users::normalize_email(&link.email));
    if !same_email {
        return Ok(Err(EMAIL_DOES_NOT_MATCH));
    }
    let outcome = match oauth_accounts::owner(&tx, &provider.id, &profile.subject).await? {
        Some((_, owner)) if owner != link.user_id => Err(ALREADY_LINKED_TO_ANOTHER_USER),
        Some((account_row, _)) => {
            oauth_accounts::update_tokens(&tx, &account_row, tokens).await?;
            Ok(())
        }
        None => {
            oauth_accounts::insert(&tx, &link.user_id, &provider.id, &profile.subject, tokens)
                .await?;
            Ok(())
        }
    };
    tx.commit().await?;
    Ok(outcome)
}
