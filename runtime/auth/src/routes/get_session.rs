//! `GET /api/auth/get-session`: the hot path every base service's guard calls.
//!
//! `200 null` when there is no valid session (absent, tampered, unknown, expired); otherwise
//! `{session, user}`. Sliding refresh once `updateAge` has passed since the last refresh, unless
//! the browser asked not to be remembered. Never rate-limited (see `rate_limit`). Answered from
//! the in-process session cache (`session_cache`) unless `?disableCookieCache=true`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use serde_json::Value;

use crate::current_session;
use crate::db::models::{Session, User};
use crate::db::sessions;
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::phase_timings::{self, Phase};
use crate::respond;
use crate::session_cache::Cached;
use crate::state::AppState;
use axum::body::Bytes;

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// zod `coerce.boolean`: any non-empty value is true (even `"false"`).
fn flag(query: &HashMap<String, String>, name: &str) -> bool {
    query.get(name).is_some_and(|v| !v.is_empty())
}

pub async fn get(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let timer = phase_timings::start();
    let Some(token) = current_session::verified_token(&state, &headers) else {
        return Ok(no_store(respond::ok_json(Value::Null)));
    };
    let timer = phase_timings::end(Phase::Verify, timer);
    phase_timings::count_request();
    let cfg = &state.config.session;
    let expires_in = Duration::from_std(cfg.expires_in).unwrap_or(Duration::days(7));
    let update_age = Duration::from_std(cfg.update_age).unwrap_or(Duration::days(1));
    let dont_remember = current_session::has_dont_remember(&state, &headers);
    let may_refresh = !dont_remember && !flag(&query, "disableRefresh");
    let now = Utc::now();
    let refresh_due = |s: &Session| s.expires_at - expires_in + update_age <= now;

    // Fast path: a live, recently read session that needs no refresh (see `session_cache`),
    // unless the caller asks for the database's answer (BetterAuth's flag for skipping its
    // cookie cache; base services ask so before deriving a credential from the session).
    let cached = (!flag(&query, "disableCookieCache"))
        .then(|| state.session_cache.get(&token))
        .flatten();
    if let Some(hit) = cached {
        let due = hit.expires_at - expires_in + update_age <= now;
        if hit.expires_at > now && !(may_refresh && due) {
            return Ok(no_store(json_bytes(hit.body)));
        }
    }

    let generation = state.session_cache.generation();
    let found = state.session_reads.find(&token).await?;
    let timer = phase_timings::split(Phase::Queue, timer, found.sent);
    let timer = phase_timings::end(Phase::Query, timer);
    let Some((mut session, user)) = found.session else {
        return Ok(no_store(respond::json_with_cookies(
            StatusCode::OK,
            Value::Null,
            state.cookies.expire_session(),
        )));
    };
    if session.expires_at <= now {
        sessions::delete_by_token(&state.pool.get().await?, &token).await?;
        state.session_cache.invalidate_all();
        return Ok(no_store(respond::json_with_cookies(
            StatusCode::OK,
            Value::Null,
            state.cookies.expire_session(),
        )));
    }
    // An impersonation lasts what it was given, however often it is used.
    let refreshed = if may_refresh && session.impersonated_by.is_none() && refresh_due(&session) {
        let new_expiry = crate::db::now_ms() + expires_in;
        let client = state.pool.get().await?;
        sessions::extend(&client, &session.id, session.expires_at, new_expiry)
            .await?
            .map(|updated_at| (updated_at, new_expiry))
    } else {
        None
    };
    // Not refreshed when the row changed since it was read (another request refreshed it, or
    // it was expired or deleted meanwhile): answered as read, which was before that change.
    if let Some((updated_at, new_expiry)) = refreshed {
        session.updated_at = updated_at;
        session.expires_at = new_expiry;
        state.session_cache.invalidate_all();
        let timer = phase_timings::end(Phase::Refresh, timer);
        let cookies = current_session::session_cookies(&state, &session.token, true);
        let body = body_bytes(&state, &session, &user);
        phase_timings::end(Phase::Body, timer);
        let mut res = json_bytes(body);
        respond::add_cookies(&mut res, cookies);
        return Ok(no_store(res));
    }
    let body = body_bytes(&state, &session, &user);
    phase_timings::end(Phase::Body, timer);
    state.session_cache.put(
        &token,
        generation,
        Cached {
            body: body.clone(),
            expires_at: session.expires_at,
        },
    );
    Ok(no_store(json_bytes(body)))
}

/// The answer's body, `{"session":…,"user":…}`.
#[derive(serde::Serialize)]
struct Body<'a> {
    session: crate::json::SessionJson<'a>,
    user: crate::json::UserJson<'a>,
}

/// The body serialized once, straight from the rows.
fn body_bytes(state: &AppState, session: &Session, user: &User) -> Bytes {
    let body = Body {
        session: crate::json::SessionJson(session),
        user: state.user_view(user),
    };
    Bytes::from(serde_json::to_vec(&body).expect("a session and its user serialize"))
}

fn json_bytes(body: Bytes) -> Response {
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// BetterAuth only serves POST when `deferSessionRefresh` is on; we keep its default answer.
pub async fn post() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        error_codes::METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED,
        "POST method requires deferSessionRefresh to be enabled in session config",
    )
    .into_response()
}
