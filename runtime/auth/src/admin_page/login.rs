//! Signing in to the dashboard: email and password, then the second factor when the account has
//! one. Both steps run auth's own API routes (`sign-in/email`, `two-factor/verify-totp`) inside
//! the process, so throttling, bans, trusted devices and cookies are exactly the API's.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, Extensions, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::html::{self, field};
use super::{csrf, forbidden, form, Holder};
use crate::state::AppState;

fn login_page(code: StatusCode, message: Option<&str>) -> Response {
    let body = format!(
        "<form method=\"post\" action=\"/login\">{}{}<p><button type=\"submit\">Sign in</button></p></form>",
        field(
            "email",
            "Email",
            "<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required autofocus>"
        ),
        field(
            "password",
            "Password",
            "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>"
        ),
    );
    html::page(code, "Sign in", None, message, &body)
}

fn two_factor_page(code: StatusCode, message: Option<&str>, cookies: Vec<String>) -> Response {
    let body = format!(
        "<p>Enter the code from your authenticator app.</p>\
         <form method=\"post\" action=\"/login/two-factor\">{}<p><button type=\"submit\">Verify</button></p></form>",
        field(
            "code",
            "Authentication code",
            "<input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required autofocus>"
        ),
    );
    let mut res = html::page(code, "Two-factor code", None, message, &body);
    crate::respond::add_cookies(&mut res, cookies);
    res
}

pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match super::holder(&state, &headers).await {
        Ok(Holder::Admin(_)) => html::see_other("/", Vec::new()),
        Ok(Holder::AdminNotSignedInHere) => login_page(
            StatusCode::OK,
            Some("Your session did not prove your second factor (a sign-in through a provider asks for none), so it does not open the dashboard while two-factor is on. Sign in here."),
        ),
        _ => login_page(StatusCode::OK, None),
    }
}

/// What an API route answered, as the dashboard needs it.
struct Answer {
    status: StatusCode,
    json: Value,
    cookies: Vec<String>,
}

/// Runs one of auth's API routes in-process, as the browser would call it: its cookies, its
/// address (the peer, and `X-Forwarded-For`, which the API reads only from a trusted proxy: behind
/// one, every admin would otherwise share the proxy's sign-in limit), its user agent, and the
/// service's own origin.
async fn call_api(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
    path: &str,
    body: Value,
) -> Answer {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("a valid request");
    let own_origin = crate::origin::origin_of(&state.config.base()).unwrap_or_default();
    if let Ok(origin) = HeaderValue::from_str(&own_origin) {
        req.headers_mut().insert(header::ORIGIN, origin);
    }
    for name in [header::COOKIE, header::USER_AGENT] {
        if let Some(v) = headers.get(&name) {
            req.headers_mut().insert(name, v.clone());
        }
    }
    for forwarded in headers.get_all(crate::client_ip::FORWARDED_FOR) {
        req.headers_mut()
            .append(crate::client_ip::FORWARDED_FOR, forwarded.clone());
    }
    if let Some(peer) = extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        req.extensions_mut().insert(*peer);
    }
    let res = match crate::routes::router(state.clone()).oneshot(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    };
    let status = res.status();
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    Answer {
        status,
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        cookies,
    }
}

/// After a successful sign-in: admins go to the dashboard with the session; anyone else gets the
/// 403 page and the session just opened is ended again (the dashboard hands out no sessions to
/// non-admins).
async fn signed_in(state: &AppState, answer: Answer) -> Response {
    let role = answer.json["user"]["role"].as_str().unwrap_or("user");
    if crate::db::models::holds_admin(role) {
        return html::see_other("/", answer.cookies);
    }
    if let (Some(token), Ok(client)) = (answer.json["token"].as_str(), state.db().await) {
        if let Err(e) = crate::db::sessions::delete_by_token(&client, token).await {
            tracing::warn!(error = %e, "could not end a non-admin's dashboard session");
        }
    }
    forbidden()
}

fn message(answer: &Answer) -> String {
    answer.json["message"]
        .as_str()
        .unwrap_or("Sign-in failed")
        .to_owned()
}

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    if !csrf::same_origin(&headers) {
        return cross_site();
    }
    let fields = form(&body);
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let answer = call_api(
        &state,
        &headers,
        &extensions,
        "/api/auth/sign-in/email",
        // A dashboard session opens every account to whoever holds it: for the browser that signed
        // in (holding the `dont_remember` marker), it ends with the browser and within a day
        // (`rememberMe: false`), where the API's sign-in lasts a week and outlives the browser. A
        // get-session sent with the token alone still extends it, as BetterAuth's does. The
        // second factor's challenge carries it to the code's sign-in.
        json!({"email": get("email"), "password": get("password"), "rememberMe": false}),
    )
    .await;
    if !answer.status.is_success() {
        return login_page(answer.status, Some(&message(&answer)));
    }
    if answer.json["twoFactorRedirect"] == json!(true) {
        return two_factor_page(StatusCode::OK, None, answer.cookies);
    }
    signed_in(&state, answer).await
}

pub async fn two_factor(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    if !csrf::same_origin(&headers) {
        return cross_site();
    }
    let code = form(&body).remove("code").unwrap_or_default();
    let answer = call_api(
        &state,
        &headers,
        &extensions,
        "/api/auth/two-factor/verify-totp",
        json!({"code": code}),
    )
    .await;
    if !answer.status.is_success() {
        return two_factor_page(answer.status, Some(&message(&answer)), Vec::new());
    }
    signed_in(&state, answer).await
}

/// Signs out (the session ends everywhere, as the API's sign-out does).
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    let current = match super::require_admin(&state, &headers).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let given = form(&body).remove("csrf").unwrap_or_default();
    if !super::post_allowed(&state, &headers, &current, "logout", &given) {
        return cross_site();
    }
    let answer = call_api(
        &state,
        &headers,
        &extensions,
        "/api/auth/sign-out",
        json!({}),
    )
    .await;
    html::see_other("/login", answer.cookies)
}

/// The answer to a form post that did not come from this dashboard.
pub fn cross_site() -> Response {
    html::problem(
        StatusCode::FORBIDDEN,
        "Refused",
        "This form was not sent from the dashboard (cross-site request), so nothing was done.",
    )
}
