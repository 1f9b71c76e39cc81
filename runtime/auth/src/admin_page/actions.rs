//! `POST /users/{id}`: one action on a user from the dashboard's forms. The post must come from
//! the dashboard (origin check) with the form's token; the action then runs through
//! [`crate::admin_actions`], like the admin API's, which checks the permission and writes the
//! audit entry.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Extensions;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::users_list::url_segment;
use super::{done, html};
use super::{form, form_values};
use crate::admin_actions::{self, Actor};
use crate::client_ip;
use crate::db::{sessions, users};
use crate::state::AppState;

/// What a form's token is bound to: the action and the user it acts on.
pub fn form_name(action: &str, user_id: &str) -> String {
    format!("{action}:{user_id}")
}

fn refused(message: &str) -> Response {
    html::problem(StatusCode::BAD_REQUEST, "Not done", message)
}

pub async fn post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    let current = match super::require_admin(&state, &headers).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let fields = form(&body);
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
    let action = get("action");
    if !super::post_allowed(
        &state,
        &headers,
        &current,
        &form_name(action, &id),
        get("csrf"),
    ) {
        return super::login::cross_site();
    }
    let ip = client_ip_of(&state, &headers, &extensions);
    let admins_session = current.session.token.clone();
    let actor = Actor {
        user: current.user,
        ip,
    };
    let done = match action {
        "set-role" => {
            let roles = form_values(&body, "role");
            if roles.is_empty() {
                return refused("Tick at least one role; nothing was changed.");
            }
            admin_actions::set_role(&state, &actor, &id, &roles)
                .await
                .map(drop)
        }
        "ban" => {
            if get("confirm") != "yes" {
                return refused("Tick the confirmation box to ban the user; nothing was changed.");
            }
            let expires = get("length")
                .parse::<f64>()
                .ok()
                .map(crate::routes::admin_ban_expiry);
            let reason = Some(get("reason")).filter(|r| !r.trim().is_empty());
            if !reason.is_none_or(|r| crate::body::fits("banReason", r)) {
                let max = crate::body::max_chars("banReason").unwrap_or_default();
                return refused(&format!(
                    "The reason is too long (at most {max} characters); nothing was changed."
                ));
            }
            admin_actions::ban(&state, &actor, &id, reason, expires)
                .await
                .map(drop)
        }
        "unban" => admin_actions::unban(&state, &actor, &id).await.map(drop),
        "revoke-session" => match session_token(&state, &id, get("session")).await {
            Some(token) => admin_actions::revoke_session(&state, &actor, &token).await,
            None => return refused("That session has already ended."),
        },
        "revoke-sessions" => admin_actions::revoke_sessions(&state, &actor, &id).await,
        "reset-mail" => admin_actions::send_password_reset(&state, &actor, &id).await,
        "delete" => {
            let confirmed = match state.db().await {
                Ok(client) => users::by_id(&client, &id)
                    .await
                    .ok()
                    .flatten()
                    // The address as the page shows it (see `html::visible`) confirms too.
                    .is_some_and(|u| {
                        users::normalize_email(&html::visible(get("confirm_email")))
                            == users::normalize_email(&html::visible(&u.email))
                    }),
                Err(_) => return super::unavailable(),
            };
            if !confirmed {
                return refused(
                    "The typed email does not match the user's email, so the user was not deleted.",
                );
            }
            return match admin_actions::remove_user(&state, &actor, &id).await {
                // The list page, the user's being gone, with whom the message is about.
                Ok(()) => html::see_other(
                    &format!(
                        "/?deleted={}&{}",
                        url_segment(&id),
                        done::query(&state, &admins_session, action, &id)
                    ),
                    Vec::new(),
                ),
                Err(e) => refused(e.message().unwrap_or("The action failed.")),
            };
        }
        _ => return refused("Unknown action."),
    };
    match done {
        Ok(()) => html::see_other(
            &format!(
                "/users/{}?{}",
                url_segment(&id),
                done::query(&state, &admins_session, action, &id)
            ),
            Vec::new(),
        ),
        Err(e) => refused(e.message().unwrap_or("The action failed.")),
    }
}

/// The token of the user's live session with this id (forms name sessions by id, never token).
async fn session_token(state: &AppState, user_id: &str, session_id: &str) -> Option<String> {
    let client = state.db().await.ok()?;
    sessions::live_by_id(&client, user_id, session_id)
        .await
        .ok()?
        .map(|s| s.token)
}

/// The client's address as the API sees it (trusted proxies included).
fn client_ip_of(state: &AppState, headers: &HeaderMap, extensions: &Extensions) -> String {
    let mut req = axum::http::Request::new(());
    *req.headers_mut() = headers.clone();
    *req.extensions_mut() = extensions.clone();
    let (parts, ()) = req.into_parts();
    client_ip::resolve(&parts, &state.config.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}
