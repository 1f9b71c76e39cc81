//! Building responses with `Set-Cookie` headers.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// JSON response plus cookies.
pub fn json_with_cookies(status: StatusCode, body: Value, cookies: Vec<String>) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    add_cookies(&mut res, cookies);
    res
}

pub fn ok_json(body: Value) -> Response {
    json_with_cookies(StatusCode::OK, body, Vec::new())
}

pub fn add_cookies(res: &mut Response, cookies: Vec<String>) {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

/// `302` to `location` with an empty body (BetterAuth keeps `content-type: application/json`).
pub fn redirect(location: &str, cookies: Vec<String>) -> Response {
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&ascii_location(location)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    add_cookies(&mut res, cookies);
    res
}

/// `url` with `query` (already encoded: `error=INVALID_TOKEN`) added to its query, before any
/// fragment: after it, the app's page would never see the parameter in its query.
pub fn with_query(url: &str, query: &str) -> String {
    let (head, fragment) = match url.split_once('#') {
        Some((head, fragment)) => (head, Some(fragment)),
        None => (url, None),
    };
    let sep = if head.contains('?') { '&' } else { '?' };
    match fragment {
        Some(fragment) => format!("{head}{sep}{query}#{fragment}"),
        None => format!("{head}{sep}{query}"),
    }
}

/// `location` as a `Location` header may hold it: ASCII, with letters outside it percent-encoded
/// as UTF-8 (and a host outside it in its punycode form), as a browser writes such a URL. Raw
/// UTF-8 in a header is read as Latin-1 by some clients and refused by others.
fn ascii_location(location: &str) -> std::borrow::Cow<'_, str> {
    if location.is_ascii() {
        return location.into();
    }
    match url::Url::parse(location) {
        Ok(url) => String::from(url).into(),
        Err(_) => {
            percent_encoding::utf8_percent_encode(location, percent_encoding::CONTROLS).into()
        }
    }
}
