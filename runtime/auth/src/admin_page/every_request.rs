//! What holds for every request to the dashboard, whatever its route answers.
//!
//! - It names the dashboard in `Host` by an IP address, `localhost`, or a name of
//!   `AUTH_ADMIN_HOSTS` (a reverse proxy's). A web page the admin opens can point a name of its
//!   own at the dashboard's address (DNS rebinding): its requests then carry that name in both
//!   `Origin` and `Host`, pass the same-origin check, and its scripts read the answers as their
//!   own. The dashboard listens on an IP address (loopback, or `AUTH_ADMIN_BIND`), so no other
//!   name is needed to reach it directly.
//! - Its answer forbids MIME sniffing and carries the dashboard's content policy, the rejections
//!   axum writes itself (a malformed path) included.
//! - Its answer asks for a browsing context group of the dashboard's own
//!   (`Cross-Origin-Opener-Policy: same-origin`): a page of another site that opened the dashboard
//!   in a window (a link with a target, `window.open`) keeps no hold on it. With one, it could
//!   send the admin's dashboard to a look-alike sign-in page of its own at any later time and take
//!   the password and the code typed there.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::html;
use crate::state::AppState;

pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let known = &state.config.admin_hosts;
    let mut response = if host.is_some_and(|host| names_the_dashboard(host, known)) {
        next.run(request).await
    } else {
        html::problem(
            StatusCode::MISDIRECTED_REQUEST,
            "Unknown host",
            "Open the dashboard by its IP address or as localhost (a reverse proxy's name must be in AUTH_ADMIN_HOSTS).",
        )
    };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The CSP's `frame-ancestors 'none'` says the same to every browser that reads it; older
    // ones read only this.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(html::CONTENT_SECURITY_POLICY));
    response
}

/// Whether `host` (a `Host` header: a name or address, then maybe a port) is an IP address,
/// `localhost` or one of `known` (lower case).
fn names_the_dashboard(host: &str, known: &[String]) -> bool {
    // A `Host` has no user part, though an authority may.
    let Ok(authority) = host.parse::<axum::http::uri::Authority>() else {
        return false;
    };
    if host.contains('@') {
        return false;
    }
    let name = authority.host();
    name.eq_ignore_ascii_case("localhost")
        || known.iter().any(|k| name.eq_ignore_ascii_case(k))
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::names_the_dashboard;

    #[test]
    fn addresses_localhost_and_known_names_name_the_dashboard_other_names_do_not() {
        let known = ["admin.example.com".to_owned()];
        for host in [
            "127.0.0.1:3333",
            "localhost:3333",
            "LOCALHOST",
            "[::1]:3333",
            "10.0.0.5",
            "Admin.Example.com:443",
        ] {
            assert!(names_the_dashboard(host, &known), "{host}");
        }
        for host in [
            "rebind.attacker.example:3333",
            "localhost.attacker.example",
            "127.0.0.1.nip.io:3333",
            "",
            "user@127.0.0.1",
        ] {
            assert!(!names_the_dashboard(host, &known), "{host}");
        }
    }
}
