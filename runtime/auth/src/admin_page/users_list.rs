//! `GET /`: the users, with search (email or name), role and ban filters, sorting and pages.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::html::{self, cell, escape, field};
use crate::db::users;
use crate::state::AppState;

/// Users per page.
const PAGE_SIZE: i64 = 50;

/// The sortable columns: query value, column, label.
const SORTS: &[(&str, &str, &str)] = &[
    ("created", "createdAt", "Created"),
    ("email", "email", "Email"),
    ("name", "name", "Name"),
];

/// The list's query parameters, read leniently (anything unknown falls back to the default).
struct Params {
    q: String,
    field: &'static str,
    role: String,
    banned: String,
    sort: &'static (&'static str, &'static str, &'static str),
    desc: bool,
    page: i64,
}

impl Params {
    fn read(q: &HashMap<String, String>) -> Self {
        let get = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
        Params {
            q: get("q"),
            field: if get("field") == "name" {
                "name"
            } else {
                "email"
            },
            role: get("role"),
            banned: match get("banned").as_str() {
                b @ ("yes" | "no") => b.to_owned(),
                _ => String::new(),
            },
            sort: SORTS
                .iter()
                .find(|(k, _, _)| *k == get("sort"))
                .unwrap_or(&SORTS[0]),
            desc: get("dir") != "asc",
            page: get("page").parse().unwrap_or(1).clamp(1, 1_000_000),
        }
    }

    /// The query string of this list on another page.
    fn link(&self, page: i64) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.append_pair("q", &self.q)
            .append_pair("field", self.field)
            .append_pair("role", &self.role)
            .append_pair("banned", &self.banned)
            .append_pair("sort", self.sort.0)
            .append_pair("dir", if self.desc { "desc" } else { "asc" })
            .append_pair("page", &page.to_string());
        format!("/?{}", escape(&s.finish()))
    }
}

fn option(value: &str, label: &str, selected: bool) -> String {
    format!(
        "<option value=\"{}\"{}>{}</option>",
        escape(value),
        if selected { " selected" } else { "" },
        escape(label)
    )
}

fn filter_form(state: &AppState, p: &Params) -> String {
    let fields = [("email", "Email"), ("name", "Name")]
        .iter()
        .map(|(v, l)| option(v, l, p.field == *v))
        .collect::<String>();
    let roles = std::iter::once(option("", "Any role", p.role.is_empty()))
        .chain(state.config.roles.all().map(|r| option(r, r, p.role == r)))
        .collect::<String>();
    let banned = [
        ("", "Banned or not"),
        ("yes", "Banned"),
        ("no", "Not banned"),
    ]
    .iter()
    .map(|(v, l)| option(v, l, p.banned == *v))
    .collect::<String>();
    let sorts = SORTS
        .iter()
        .map(|(k, _, l)| option(k, l, p.sort.0 == *k))
        .collect::<String>();
    let dirs = [("desc", "Descending"), ("asc", "Ascending")]
        .iter()
        .map(|(v, l)| option(v, l, (*v == "desc") == p.desc))
        .collect::<String>();
    format!(
        "<form method=\"get\" action=\"/\" role=\"search\"><fieldset><legend>Find users</legend>{}{}{}{}{}{}\
         <p><button type=\"submit\">Search</button></p></fieldset></form>",
        field(
            "q",
            "Search",
            &format!("<input id=\"q\" name=\"q\" type=\"search\" value=\"{}\">", escape(&p.q))
        ),
        field("field", "In", &format!("<select id=\"field\" name=\"field\">{fields}</select>")),
        field("role", "Role", &format!("<select id=\"role\" name=\"role\">{roles}</select>")),
        field("banned", "Status", &format!("<select id=\"banned\" name=\"banned\">{banned}</select>")),
        field("sort", "Sort by", &format!("<select id=\"sort\" name=\"sort\">{sorts}</select>")),
        field("dir", "Order", &format!("<select id=\"dir\" name=\"dir\">{dirs}</select>")),
    )
}

pub async fn get(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let current = match super::require_admin(&state, &headers).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let p = Params::read(&query);
    let escaped =
        p.q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
    let list_query = users::ListQuery {
        search_field: p.field,
        search_pattern: (!p.q.is_empty()).then(|| format!("%{escaped}%")),
        limit: PAGE_SIZE,
        offset: (p.page - 1) * PAGE_SIZE,
        sort_by: p.sort.1,
        descending: p.desc,
        role: (!p.role.is_empty()).then(|| p.role.clone()),
        banned: match p.banned.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
    };
    let Ok(client) = state.db().await else {
        return super::unavailable();
    };
    let Ok((list, total)) = users::list(&client, &list_query).await else {
        return super::unavailable();
    };
    let now = chrono::Utc::now();
    let rows: String = list
        .iter()
        .map(|u| {
            format!(
                "<tr><td><a href=\"/users/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&url_segment(&u.id)),
                cell(&u.email),
                cell(&u.name),
                cell(u.role.as_deref().unwrap_or("user")),
                if u.two_factor_enabled { "on" } else { "off" },
                if u.is_banned(now) { "banned" } else { "active" },
                cell(&u.services.join(", ")),
                escape(&u.created_at.format("%Y-%m-%d %H:%M UTC").to_string()),
            )
        })
        .collect();
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let mut pager = format!("<p>Page {} of {pages} ({total} users). ", p.page);
    if p.page > 1 {
        pager.push_str(&format!(
            "<a href=\"{}\" rel=\"prev\">Previous page</a> ",
            p.link(p.page - 1)
        ));
    }
    if p.page < pages {
        pager.push_str(&format!(
            "<a href=\"{}\" rel=\"next\">Next page</a>",
            p.link(p.page + 1)
        ));
    }
    pager.push_str("</p>");
    let body = format!(
        "{}{pager}<table><caption>Users</caption><thead><tr><th scope=\"col\">Email</th><th scope=\"col\">Name</th>\
         <th scope=\"col\">Role</th><th scope=\"col\">2FA</th><th scope=\"col\">Status</th>\
         <th scope=\"col\">Services</th><th scope=\"col\">Created</th></tr></thead><tbody>{rows}</tbody></table>",
        filter_form(&state, &p)
    );
    let nav = super::nav(&state, &current);
    // After a deletion the dashboard lands here (the user's page is gone).
    let status = query
        .get("deleted")
        .and_then(|id| super::done::proven(&state, &current.session.token, &query, id))
        .filter(|action| *action == "delete")
        .map(|_| "The user was deleted.");
    html::page(StatusCode::OK, "Users", Some(nav), status, &body)
}

/// A user id as one path segment.
pub fn url_segment(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}
