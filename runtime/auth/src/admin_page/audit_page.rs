//! `GET /audit`: the newest admin actions, from the admin API and this dashboard alike.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::html::{self, cell, escape};
use crate::db::audit;
use crate::state::AppState;

/// Entries shown (newest first).
const SHOWN: i64 = 200;

pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let current = match super::require_admin(&state, &headers).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let Ok(client) = state.db().await else {
        return super::unavailable();
    };
    let Ok(entries) = audit::newest(&client, SHOWN).await else {
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
    let body = format!(
        "<table><caption>Newest {SHOWN} admin actions</caption><thead><tr><th scope=\"col\">When</th>\
         <th scope=\"col\">Who</th><th scope=\"col\">What</th><th scope=\"col\">Target</th>\
         <th scope=\"col\">Details</th><th scope=\"col\">From</th></tr></thead><tbody>{rows}</tbody></table>"
    );
    let nav = super::nav(&state, &current);
    html::page(StatusCode::OK, "Audit log", Some(nav), None, &body)
}
