//! The admin page on `AUTH_ADMIN_PORT`, bound to loopback only (reach it through SSH or a
//! reverse proxy you control). Server-rendered HTML, no JavaScript. Access needs an admin session:
//! browsers send the `better-auth.session_token` cookie to every port of the same host, so signing
//! in on the auth API is enough. Read-only: changes go through the admin API endpoints.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::current_session::{self, Lookup};
use crate::db::users;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new().route("/", get(page)).with_state(state)
}

/// Escapes text for HTML element and attribute content.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Longest text shown in one cell; longer values (stored before the input caps, or written behind
/// the service's back) are cut, so one row cannot make the page huge.
const MAX_CELL_CHARS: usize = 120;

/// Escaped and cut to `MAX_CELL_CHARS` (an ellipsis marks the cut).
fn cell(s: &str) -> String {
    match s.char_indices().nth(MAX_CELL_CHARS) {
        Some((end, _)) => format!("{}…", escape(&s[..end])),
        None => escape(s),
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let doc = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>stackr auth admin</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}}</style></head>\
         <body><h1>stackr auth — admin</h1>{body}</body></html>"
    );
    let mut res = (status, doc).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        "text/html; charset=utf-8".parse().unwrap(),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
    res
}

async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let current = match current_session::lookup(&state, &headers).await {
        Ok(Lookup::Found(c)) => c,
        Ok(_) => {
            return html(
                StatusCode::UNAUTHORIZED,
                format!(
                    "<p>Sign in as an admin at <code>{}</code> first (make one with <code>stackr set-role EMAIL admin</code> in the project, or the auth binary's <code>set-role EMAIL admin</code>).</p>",
                    escape(&state.config.base())
                ),
            )
        }
        Err(_) => return html(StatusCode::SERVICE_UNAVAILABLE, "<p>Database unavailable.</p>".into()),
    };
    if !current.user.is_admin() {
        return html(
            StatusCode::FORBIDDEN,
            "<p>Your account is not an admin.</p>".into(),
        );
    }
    let Ok(client) = state.pool.get().await else {
        return html(
            StatusCode::SERVICE_UNAVAILABLE,
            "<p>Database unavailable.</p>".into(),
        );
    };
    let query = users::ListQuery {
        search_field: "email",
        search_pattern: None,
        limit: 500,
        offset: 0,
        sort_by: "createdAt",
        descending: true,
    };
    let Ok((list, total)) = users::list(&client, &query).await else {
        return html(
            StatusCode::SERVICE_UNAVAILABLE,
            "<p>Database unavailable.</p>".into(),
        );
    };
    let mut rows = String::new();
    for u in &list {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            cell(&u.email),
            cell(&u.name),
            cell(u.role.as_deref().unwrap_or("user")),
            if u.email_verified { "yes" } else { "no" },
            if u.two_factor_enabled { "yes" } else { "no" },
            if u.banned == Some(true) { "yes" } else { "no" },
            cell(&u.services.join(", ")),
            escape(&u.created_at.to_rfc3339()),
        ));
    }
    html(
        StatusCode::OK,
        format!(
            "<p>Signed in as {}. {total} users.</p><table><tr><th>email</th><th>name</th><th>role</th>\
             <th>verified</th><th>2FA</th><th>banned</th><th>services</th><th>created</th></tr>{rows}</table>",
            cell(&current.user.email)
        ),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
