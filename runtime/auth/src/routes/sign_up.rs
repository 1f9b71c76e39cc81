//! `POST /api/auth/sign-up/email`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::body::{Body, JsonOrFormBody};
use crate::client_ip::{user_agent, ClientIp};
use crate::current_session;
use crate::db::session_sign_in::Proved;
use crate::db::{accounts, credential_epoch, users};
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::password;
use crate::respond;
use crate::routes::email_verification::ANONYMOUS_FLOOR;
use crate::state::AppState;

/// Fields owned by plugins that a user must never set on themselves (`input: false`).
pub const SERVER_ONLY_FIELDS: &[&str] = &[
    "role",
    "banned",
    "banReason",
    "banExpires",
    "twoFactorEnabled",
    "impersonatedBy",
    "emailVerified",
];

pub fn reject_server_only_fields(body: &Body) -> ApiResult<()> {
    for field in SERVER_ONLY_FIELDS {
        if body.has(field) {
            return Err(ApiError::bad_request(
                error_codes::FIELD_NOT_ALLOWED,
                &format!("{field} is not allowed to be set"),
            ));
        }
    }
    Ok(())
}

/// A sign-up for `email`, which has an account, offering `password`: when the account's address
/// is not verified yet and its password is another, the address is contested
/// ([`credential_epoch::contest_sign_up`]): the stored password was chosen by someone who never
/// proved the mailbox, maybe ahead of the mailbox's owner, who is now signing up. Verifying the
/// address then drops it and mails a reset link (`email_verification::verify`). The same
/// password sent twice (a double-clicked form) contests nothing.
async fn contest_if_unproved(state: AppState, email: String, password: String) {
    let contested = async {
        let mut client = state.db().await?;
        let Some(user) = users::by_email(&client, &email).await? else {
            return Ok(());
        };
        if user.email_verified {
            return Ok(());
        }
        let stored = accounts::credential_password(&client, &user.id)
            .await?
            .flatten();
        let same = match stored {
            Some(stored) => {
                tokio::task::spawn_blocking(move || password::verify(&password, &stored).is_match())
                    .await
                    .map_err(ApiError::internal)?
            }
            None => false,
        };
        if !same {
            credential_epoch::contest_sign_up(&mut client, &user.id).await?;
        }
        Ok::<(), ApiError>(())
    };
    if let Err(e) = contested.await {
        tracing::warn!(error = ?e, "could not check a second sign-up for an unverified address");
    }
}

pub async fn post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonOrFormBody(mut body): JsonOrFormBody,
) -> ApiResult<Response> {
    let started = std::time::Instant::now();
    let name = body.string("name");
    let email = body.email("email");
    let password_in = body.non_empty("password");
    let image = body.opt_string("image");
    let callback_url = body.opt_string("callbackURL");
    let remember = body.opt_bool("rememberMe").unwrap_or(true);
    body.check()?;
    let fields = crate::user_fields::from_body(
        &state.config.user_fields,
        body.map(),
        crate::user_fields::Action::Create,
    )?;
    reject_server_only_fields(&body)?;
    super::require_trusted_callback(&state, callback_url.as_deref())?;
    password::check_length(&password_in)?;

    let offered = password_in.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash(&password_in))
        .await
        .map_err(ApiError::internal)??;

    let mut client = state.db().await?;
    let tx = client.transaction().await?;
    let user_id = crate::ids::new_id();
    let created = users::insert(&tx, &user_id, &name, &email, image.as_deref()).await?;
    if !created {
        drop(tx);
        if state.config.require_email_verification {
            // Enumeration protection: a duplicate looks like a success that needs verification,
            // and is answered after the same floor.
            // Whether it contests the address is found out after the answer, which must not
            // take longer for an address that has an account.
            tokio::spawn(contest_if_unproved(state.clone(), email.clone(), offered));
            let now = crate::db::now_ms();
            let fake = crate::db::models::User {
                id: crate::ids::new_id(),
                name,
                email,
                email_verified: false,
                image,
                created_at: now,
                updated_at: now,
                two_factor_enabled: false,
                role: Some("user".into()),
                banned: Some(false),
                ban_reason: None,
                ban_expires: None,
                services: Vec::new(),
                extra: users::extra_as_stored(&client, &fields).await?,
            };
            super::pad_to_floor(started, ANONYMOUS_FLOOR).await;
            return Ok(respond::ok_json(
                json!({"token": null, "user": state.user_json(&fake)}),
            ));
        }
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            error_codes::USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL,
            "User already exists. Use another email.",
        ));
    }
    crate::user_fields::store(&tx, &user_id, &fields).await?;
    accounts::insert_credential(&tx, &user_id, &hash).await?;
    credential_epoch::password_chosen_unproved(&tx, &user_id).await?;
    let issued = if state.config.require_email_verification {
        None
    } else {
        Some(
            current_session::issue(
                &state,
                &tx,
                &user_id,
                // The holder chose the password.
                Proved::Password,
                remember,
                &ip,
                &user_agent(&headers),
                None,
            )
            .await?,
        )
    };
    let user = users::by_id(&tx, &user_id)
        .await?
        .ok_or_else(|| ApiError::internal("user vanished inside its own transaction"))?;
    tx.commit().await?;
    if let Some(issued) = &issued {
        issued.flush_ended(&state);
    }

    if state.config.require_email_verification {
        crate::routes::email_verification::send_verification_mail(
            &state,
            &user,
            callback_url.as_deref(),
        );
        // Creating the account (rows written, a commit) takes milliseconds that a taken address
        // skips: both answers wait for the same floor.
        super::pad_to_floor(started, ANONYMOUS_FLOOR).await;
    }
    Ok(match issued {
        Some(issued) => respond::json_with_cookies(
            StatusCode::OK,
            json!({"token": issued.session.token, "user": state.user_json(&user)}),
            // The browser that chose the password is a known device of the account.
            issued
                .cookies
                .into_iter()
                .chain(crate::known_device::cookie_for_this_browser(
                    &state, &headers, &user.id, &hash,
                ))
                .collect(),
        ),
        None => respond::ok_json(json!({"token": null, "user": state.user_json(&user)})),
    })
}
