//! `GET /users/{id}`: one user (profile, sessions, linked accounts, 2FA, provisioned services)
//! and the forms of every action on them.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::html::{self, cell, csrf_field, escape, field};
use super::users_list::url_segment;
use crate::current_session::CurrentSession;
use crate::db::models::{Session, User};
use crate::db::{oauth_accounts, sessions, users};
use crate::state::AppState;

/// The message read out after an action (`?done=`, proven: see `done`), by action; unknown values
/// show nothing.
const DONE: &[(&str, &str)] = &[
    ("set-role", "The roles were changed."),
    ("ban", "The user was banned and signed out everywhere."),
    ("unban", "The ban was lifted."),
    ("revoke-session", "The session was ended."),
    ("revoke-sessions", "All sessions were ended."),
    ("reset-mail", "A password reset mail was sent."),
];

/// The label of the box that confirms a ban (a destructive action: it ends every session); the
/// server refuses a ban posted without it, so the step holds with JavaScript off too.
const BAN_CONFIRMATION: &str = "Yes, ban this user and end all their sessions";

/// How long a ban lasts: form value (seconds, empty for ever) and label.
pub const BAN_LENGTHS: &[(&str, &str)] = &[
    ("3600", "1 hour"),
    ("86400", "1 day"),
    ("604800", "7 days"),
    ("2592000", "30 days"),
    ("", "Until lifted"),
];

fn when(d: &chrono::DateTime<chrono::Utc>) -> String {
    escape(&d.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// One action form: hidden action name and token, the given controls, a submit button.
fn action_form(
    state: &AppState,
    current: &CurrentSession,
    user: &User,
    action: &str,
    controls: &str,
    button: &str,
) -> String {
    let token = super::csrf::token(
        state,
        &current.session.token,
        &super::actions::form_name(action, &user.id),
    );
    format!(
        "<form method=\"post\" action=\"/users/{}\"><input type=\"hidden\" name=\"action\" value=\"{action}\">{}{controls}\
         <p><button type=\"submit\">{}</button></p></form>",
        escape(&url_segment(&user.id)),
        csrf_field(&token),
        escape(button)
    )
}

fn profile(state: &AppState, user: &User) -> String {
    let now = chrono::Utc::now();
    let ban = if user.is_banned(now) {
        format!(
            "banned ({}; until {})",
            cell(user.ban_reason.as_deref().unwrap_or("no reason")),
            user.ban_expires.as_ref().map_or("lifted".to_owned(), when)
        )
    } else {
        "active".to_owned()
    };
    let services: String = state
        .provision_services
        .iter()
        .map(|s| {
            let has = user.services.iter().any(|x| x == s);
            format!(
                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                escape(&stackr_contract::has_account_field(s)),
                if has { "yes" } else { "no" }
            )
        })
        .collect();
    format!(
        "<table><caption>Profile</caption><tbody>\
         <tr><th scope=\"row\">Email</th><td>{}</td></tr><tr><th scope=\"row\">Name</th><td>{}</td></tr>\
         <tr><th scope=\"row\">Role</th><td>{}</td></tr><tr><th scope=\"row\">Email verified</th><td>{}</td></tr>\
         <tr><th scope=\"row\">Two-factor</th><td>{}</td></tr><tr><th scope=\"row\">Status</th><td>{ban}</td></tr>\
         <tr><th scope=\"row\">Created</th><td>{}</td></tr>{services}</tbody></table>",
        cell(&user.email),
        cell(&user.name),
        cell(user.role.as_deref().unwrap_or("user")),
        if user.email_verified { "yes" } else { "no" },
        if user.two_factor_enabled { "on" } else { "off" },
        when(&user.created_at),
    )
}

/// How many of a user's live sessions their page lists, the newest: every one of their own they
/// may hold; impersonations (an hour each) come on top, and push the oldest off the page ("End
/// all sessions" ends those too).
const SESSIONS_LISTED: i64 = sessions::MAX_LIVE_PER_USER;

/// The table of `list`, the newest of the user's `live` sessions.
fn session_rows(
    state: &AppState,
    current: &CurrentSession,
    user: &User,
    list: &[Session],
    live: i64,
) -> String {
    let rows: String = list
        .iter()
        .map(|s| {
            let token_field = format!(
                "<input type=\"hidden\" name=\"session\" value=\"{}\">",
                escape(&s.id)
            );
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                cell(s.user_agent.as_deref().unwrap_or("")),
                cell(s.ip_address.as_deref().unwrap_or("")),
                when(&s.created_at),
                when(&s.updated_at),
                if s.impersonated_by.is_some() {
                    "impersonation"
                } else {
                    ""
                },
                action_form(
                    state,
                    current,
                    user,
                    "revoke-session",
                    &token_field,
                    "End this session"
                ),
            )
        })
        .collect();
    let count = if live > list.len() as i64 {
        format!("the newest {} of {live}", list.len())
    } else {
        live.to_string()
    };
    format!(
        "<table><caption>Sessions ({count})</caption><thead><tr><th scope=\"col\">Device</th><th scope=\"col\">IP</th>\
         <th scope=\"col\">Created</th><th scope=\"col\">Last seen</th><th scope=\"col\">Kind</th><th scope=\"col\">Action</th></tr></thead>\
         <tbody>{rows}</tbody></table>"
    )
}

fn actions(state: &AppState, current: &CurrentSession, user: &User) -> String {
    // Boxes, not a single-choice list: a user may hold several roles, and the form sends back
    // every one ticked.
    let roles: String = state
        .config
        .roles
        .all()
        .map(|r| {
            let held = user.roles().any(|mine| mine == r);
            format!(
                "<label><input type=\"checkbox\" name=\"role\" value=\"{0}\"{1}> {0}</label> ",
                escape(r),
                if held { " checked" } else { "" }
            )
        })
        .collect();
    let lengths: String = BAN_LENGTHS
        .iter()
        .map(|(v, l)| format!("<option value=\"{v}\">{l}</option>"))
        .collect();
    let set_role = action_form(
        state,
        current,
        user,
        "set-role",
        &format!("<p>{roles}</p>{}", undeclared_roles_note(state, user)),
        "Set roles",
    );
    let ban = action_form(
        state,
        current,
        user,
        "ban",
        &format!(
            "{}{}{}",
            field(
                "ban-reason",
                "Reason",
                "<input id=\"ban-reason\" name=\"reason\" maxlength=\"1024\">"
            ),
            field(
                "ban-length",
                "Length",
                &format!("<select id=\"ban-length\" name=\"length\">{lengths}</select>")
            ),
            field(
                "ban-confirm",
                BAN_CONFIRMATION,
                "<input type=\"checkbox\" id=\"ban-confirm\" name=\"confirm\" value=\"yes\" required>"
            )
        ),
        "Ban",
    );
    let unban = action_form(state, current, user, "unban", "", "Lift the ban");
    let revoke_all = action_form(
        state,
        current,
        user,
        "revoke-sessions",
        "",
        "End all sessions",
    );
    let reset = action_form(
        state,
        current,
        user,
        "reset-mail",
        "",
        "Send a password reset mail",
    );
    let delete = action_form(
        state,
        current,
        user,
        "delete",
        &field(
            "confirm-email",
            "Type the user's email to confirm",
            "<input id=\"confirm-email\" name=\"confirm_email\" autocomplete=\"off\" required>",
        ),
        "Delete this user",
    );
    format!(
        "<fieldset><legend>Roles</legend>{set_role}</fieldset><fieldset><legend>Ban</legend>{ban}{unban}</fieldset>\
         <fieldset><legend>Sessions and password</legend>{revoke_all}{reset}</fieldset>\
         <fieldset class=\"danger\"><legend>Delete</legend>{delete}</fieldset>"
    )
}

/// Roles the user holds that the stack no longer declares have no box, and the action refuses
/// them: saving the form drops them, which the admin is told before doing it.
fn undeclared_roles_note(state: &AppState, user: &User) -> String {
    let mut undeclared: Vec<&str> = Vec::new();
    for role in user.roles().filter(|r| !state.config.roles.accepts(r)) {
        if !undeclared.contains(&role) {
            undeclared.push(role);
        }
    }
    if undeclared.is_empty() {
        return String::new();
    }
    let it = if undeclared.len() == 1 { "it" } else { "them" };
    // Written behind the service's back, the list may be of any length: cut as a cell is.
    format!(
        "<p>Also holds {}, which this stack no longer declares: setting roles drops {it}.</p>",
        cell(&undeclared.join(", "))
    )
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let current = match super::require_admin(&state, &headers).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let Ok(client) = state.db().await else {
        return super::unavailable();
    };
    let user = match users::by_id(&client, &id).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return html::problem(
                StatusCode::NOT_FOUND,
                "No such user",
                "There is no user with this id (perhaps deleted).",
            )
        }
        Err(_) => return super::unavailable(),
    };
    let (Ok((list, live)), Ok(accounts)) = (
        sessions::newest_live(&client, &user.id, SESSIONS_LISTED).await,
        oauth_accounts::list(&client, &user.id).await,
    ) else {
        return super::unavailable();
    };
    let linked: String = accounts
        .iter()
        .map(|a| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                cell(&a.provider_id),
                cell(&a.account_id),
                when(&a.created_at)
            )
        })
        .collect();
    let status = super::done::proven(&state, &current.session.token, &query, &user.id)
        .and_then(|d| DONE.iter().find(|(k, _)| *k == d))
        .map(|(_, m)| *m);
    let body = format!(
        "{}{}<table><caption>Linked accounts</caption><thead><tr><th scope=\"col\">Provider</th><th scope=\"col\">Account</th>\
         <th scope=\"col\">Linked</th></tr></thead><tbody>{linked}</tbody></table>{}",
        profile(&state, &user),
        session_rows(&state, &current, &user, &list, live),
        actions(&state, &current, &user),
    );
    let nav = super::nav(&state, &current);
    html::page(
        StatusCode::OK,
        &format!("User {}", user.email),
        Some(nav),
        status,
        &body,
    )
}
