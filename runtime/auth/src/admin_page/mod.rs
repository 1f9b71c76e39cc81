//! The admin dashboard on `AUTH_ADMIN_PORT` (loopback unless `AUTH_ADMIN_BIND` says otherwise):
//! server-rendered HTML that works without JavaScript, one stylesheet, no external assets.
//!
//! Admins sign in here with their email, password and second factor; the dashboard runs auth's
//! own sign-in and two-factor routes for that, so the session cookie is the API's. Anyone else gets
//! a 403 page. Every action goes through [`crate::admin_actions`] (the admin API's code path, so it
//! is permission-checked and audited) and every form post is CSRF-checked (see [`csrf`]).
//!
//! Who gets in: an admin's own session (never an impersonation) that proved their second factor
//! while they have two-factor on ([`CurrentSession::may_administer`], which the API's admin routes
//! ask too). The API's sign-in and two-factor routes and a session replacing one that qualified
//! qualify. A sign-in through a linked provider asks for no second factor (as in BetterAuth):
//! while the admin has two-factor on, its holder is sent to the sign-in page. Admins without
//! two-factor get in with any session of their own, a provider's included: it proves as much as
//! the password alone, which its holder could set.

mod actions;
mod audit_page;
pub mod csrf;
mod done;
mod every_request;
pub mod html;
mod login;
mod lookalike;
mod user_detail;
mod users_list;

pub use html::escape;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::current_session::{self, CurrentSession, Lookup};
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(users_list::get))
        .route("/users/{id}", get(user_detail::get).post(actions::post))
        .route("/audit", get(audit_page::get))
        .route("/login", get(login::page).post(login::post))
        .route("/login/two-factor", post(login::two_factor))
        .route("/logout", post(login::logout))
        .route("/dashboard.css", get(stylesheet))
        .layer(axum::middleware::from_fn(crate::nul_in_url::refuse_page))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            every_request::guard,
        ))
        .with_state(state)
}

async fn stylesheet() -> Response {
    use axum::response::IntoResponse;
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("dashboard.css"),
    )
        .into_response()
}

/// Who holds the request's session, as the dashboard sees them.
enum Holder {
    Admin(Box<CurrentSession>),
    /// An admin whose session did not prove their second factor (see
    /// [`CurrentSession::may_administer`]).
    AdminNotSignedInHere,
    NotAdmin,
    NoSession,
}

async fn holder(state: &AppState, headers: &HeaderMap) -> crate::error::ApiResult<Holder> {
    let current = match current_session::lookup(state, headers).await? {
        Lookup::Found(current) if current.is_admins_own() => current,
        Lookup::Found(_) => return Ok(Holder::NotAdmin),
        _ => return Ok(Holder::NoSession),
    };
    let client = state.db().await?;
    Ok(match current.may_administer(&client).await? {
        true => Holder::Admin(current),
        false => Holder::AdminNotSignedInHere,
    })
}

/// The signed-in admin, or the response to send instead: to the sign-in page without a session
/// (or with an admin's that did not prove their second factor), a 403 page
/// for a user who is not an admin.
pub async fn require_admin(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<CurrentSession, Response> {
    match holder(state, headers).await {
        Ok(Holder::Admin(current)) => Ok(*current),
        Ok(Holder::NotAdmin) => Err(forbidden()),
        Ok(Holder::AdminNotSignedInHere | Holder::NoSession) => {
            Err(html::see_other("/login", Vec::new()))
        }
        Err(_) => Err(unavailable()),
    }
}

pub fn forbidden() -> Response {
    html::problem(
        StatusCode::FORBIDDEN,
        "Not allowed",
        "Your account is not an admin, so it cannot use this dashboard. Ask an admin to give you the admin role.",
    )
}

pub fn bad_request() -> Response {
    html::problem(
        StatusCode::BAD_REQUEST,
        "Not a valid address",
        "The address holds a character no page takes (an encoded NUL, %00).",
    )
}

pub fn unavailable() -> Response {
    html::problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "Unavailable",
        "The database is not answering; try again shortly.",
    )
}

/// The navigation of a signed-in admin's pages.
fn nav(state: &AppState, current: &CurrentSession) -> html::Nav {
    html::Nav {
        who: current.user.email.clone(),
        logout_token: csrf::token(state, &current.session.token, "logout"),
    }
}

/// Whether a form post may act: sent from a dashboard page (origin check) with the token of
/// `form_name` in the admin's session.
fn post_allowed(
    state: &AppState,
    headers: &HeaderMap,
    current: &CurrentSession,
    form_name: &str,
    given: &str,
) -> bool {
    csrf::same_origin(headers) && csrf::valid(state, &current.session.token, form_name, given)
}

/// A urlencoded form body as a map (later duplicates win).
fn form(bytes: &[u8]) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// Every value of a field a form may send several times (ticked boxes of one name), each once,
/// in the order sent.
fn form_values(bytes: &[u8], name: &str) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for (key, value) in url::form_urlencoded::parse(bytes) {
        if key == name && !values.iter().any(|v| *v == value) {
            values.push(value.into_owned());
        }
    }
    values
}
