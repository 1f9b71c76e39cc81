//! `GET /api/auth/error`: where a failed social sign-in lands when the app gave no
//! `errorCallbackURL`. Like BetterAuth's page, it shows the error code only when it is a plain
//! token (`[A-Za-z0-9_'-]`, else `UNKNOWN`) and the description escaped; the page loads nothing.

use axum::extract::RawQuery;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::admin_page::escape;

pub async fn get(RawQuery(query): RawQuery) -> Response {
    let mut code = None;
    let mut description = None;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "error" if code.is_none() => code = Some(v.into_owned()),
            "error_description" if description.is_none() => description = Some(v.into_owned()),
            _ => {}
        }
    }
    let code = code
        .filter(|c| {
            !c.is_empty()
                && c.len() <= 128
                && c.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "_'-".contains(ch))
        })
        .unwrap_or_else(|| "UNKNOWN".to_owned());
    let description = description
        .map(|d| {
            format!(
                "<p>{}</p>",
                escape(&d.chars().take(500).collect::<String>())
            )
        })
        .unwrap_or_default();
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head>\
         <body><h1>Sign-in failed</h1><p>Error code: <code>{}</code></p>{description}</body></html>",
        escape(&code)
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Nothing of it runs or loads, it shows in no other site's frame (where its text
            // could be made part of a page that asks for something), and it is read as HTML only.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; frame-ancestors 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        page,
    )
        .into_response()
}
