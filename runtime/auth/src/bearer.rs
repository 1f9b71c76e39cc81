//! BetterAuth's bearer plugin, for apps that cannot keep cookies (mobile, desktop, scripts):
//!
//! * `Authorization: Bearer <token>` stands for the session cookie. `<token>` is the signed value
//!   an answer's `set-auth-token` header carried (`token.signature`, percent-encoded or not) or
//!   the bare session token (signed here, as BetterAuth does unless told to require signatures).
//!   Anything that does not verify is ignored, leaving the request as it came, and so is the
//!   bearer value of a base service's own call (`x-stackr-service`), which is its credential.
//! * Every answer that sets a session cookie also carries its value, decoded, in `set-auth-token`,
//!   exposed to cross-origin scripts through `Access-Control-Expose-Headers`.
//!
//! The layer sits inside the origin check, which therefore sees the request as sent: a bearer
//! token is never sent by a browser on its own, so requests carrying only one need no `Origin`
//! (as in BetterAuth, whose origin check looks at the request's own `cookie` header).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use percent_encoding::percent_decode_str;

use crate::cookie;
use crate::routes::provision::SERVICE_HEADER;
use crate::state::AppState;

/// The scheme, compared without regard to case.
const SCHEME: &str = "bearer ";
/// The answer header carrying the session cookie's value.
const SET_AUTH_TOKEN: &str = "set-auth-token";

pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    // A service call's bearer value is the service's credential (see `routes::provision`).
    let service_call = req.headers().contains_key(SERVICE_HEADER);
    if let Some(signed) = bearer_session(&state, req.headers()).filter(|_| !service_call) {
        replace_session_cookie(&state, req.headers_mut(), &signed);
    }
    let mut res = next.run(req).await;
    expose_session_token(&state, &mut res);
    res
}

/// The signed session value (`token.signature`, decoded) the request's bearer token stands for,
/// when its signature verifies.
fn bearer_session(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let scheme = value.get(..SCHEME.len())?;
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let token = value[SCHEME.len()..].trim();
    if token.is_empty() {
        return None;
    }
    let signed = if token.contains('.') {
        percent_decode_str(token).decode_utf8().ok()?.into_owned()
    } else {
        cookie::sign(state.secrets().current(), token)
    };
    state.secrets().verify_cookie(&signed).map(|_| signed)
}

/// Puts the session cookie `signed` into the request's `cookie` header, in place of any session
/// cookie already there; other cookies stay.
fn replace_session_cookie(state: &AppState, headers: &mut HeaderMap, signed: &str) {
    let name = &state.cookies.session_token;
    let mut pairs: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .filter(|pair| pair.split_once('=').is_none_or(|(k, _)| k.trim() != name))
        .map(str::to_owned)
        .collect();
    pairs.push(format!("{name}={}", cookie::encode_uri_component(signed)));
    headers.remove(header::COOKIE);
    if let Ok(value) = HeaderValue::from_str(&pairs.join("; ")) {
        headers.insert(header::COOKIE, value);
    }
}

/// Adds `set-auth-token` when the answer sets a (non-expiring) session cookie.
fn expose_session_token(state: &AppState, res: &mut Response) {
    let prefix = format!("{}=", state.cookies.session_token);
    let set = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.strip_prefix(&prefix))
        .next_back()
        .and_then(|rest| {
            let mut parts = rest.split(';');
            let value = parts.next()?.trim();
            let expired = parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            (!value.is_empty() && !expired).then(|| value.to_owned())
        });
    let Some(wire) = set else { return };
    let Ok(decoded) = percent_decode_str(&wire).decode_utf8() else {
        return;
    };
    let Ok(token) = HeaderValue::from_str(&decoded) else {
        return;
    };
    let mut exposed: Vec<String> = res
        .headers()
        .get_all(header::ACCESS_CONTROL_EXPOSE_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .collect();
    if !exposed
        .iter()
        .any(|h| h.eq_ignore_ascii_case(SET_AUTH_TOKEN))
    {
        exposed.push(SET_AUTH_TOKEN.to_owned());
    }
    let headers = res.headers_mut();
    headers.insert(SET_AUTH_TOKEN, token);
    if let Ok(value) = HeaderValue::from_str(&exposed.join(", ")) {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, value);
    }
}
