//! `GET /audit`: the admin actions, from the admin API and this dashboard alike, newest first, a
//! page at a time (`?before=<id>`: the page after the one that ended at that entry), so no number
//! of later entries puts one out of reach.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::html::{self, cell, escape};
use crate::db::audit;
use crate::state::AppState;

/// Entries on a page.
const SHOWN: i64 = 200;

pub async fn get(
    State(state): State<AppState>,
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
    // Anything but an entry's id starts at the newest.
    let before = query.get("before").and_then(|id| id.parse::<i64>().ok());
    let Ok(entries) = audit::newest(&client, before, SHOWN).await else {
        return super::unavailable();
    };
    let rows: String = entries
        .iter()
        .map(|e| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
                cell(&e.actor_email),
                cell(&e.action),
                cell(e.target_email.as_deref().unwrap_or("")),
                cell(&e.detail),
                cell(&e.ip),
            )
        })
        .collect();
    let caption = if before.is_some() {
        "Older admin actions"
    } else {
        "Newest admin actions"
    };
    let older = match entries.last() {
        Some(last) if entries.len() as i64 == SHOWN => {
            format!(
                "<p><a href=\"/audit?before={}\">Older entries</a></p>",
                last.id
            )
        }
        _ => String::new(),
    };
    let body = format!(
        "<table><caption>{caption}</caption><thead><tr><th scope=\"col\">When</th>\
         <th scope=\"col\">Who</th><th scope=\"col\">What</th><th scope=\"col\">Target</th>\
         <th scope=\"col\">Details</th><th scope=\"col\">From</th></tr></thead><tbody>{rows}</tbody></table>{older}"
    );
    let nav = super::nav(&state, &current);
    html::page(StatusCode::OK, "Audit log", Some(nav), None, &body)
}
