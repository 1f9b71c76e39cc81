//! `POST /api/auth/update-user`: `name`, `image` and the additional user fields a client may set; email changes and plugin-owned fields
//! are refused with BetterAuth's errors.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::body::JsonBody;
use crate::client_ip::ClientIp;
use crate::current_session;
use crate::db::users;
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::respond;
use crate::state::AppState;

pub async fn post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let current = current_session::require(&state, &headers).await?;
    if body.has("email") {
        return Err(ApiError::bad_request(
            error_codes::EMAIL_CAN_NOT_BE_UPDATED,
            "Email can not be updated",
        ));
    }
    let fields = crate::user_fields::from_body(
        &state.config.user_fields,
        body.map(),
        crate::user_fields::Action::Update,
    )?;
    crate::routes::sign_up::reject_server_only_fields(&body)?;
    let name = body.opt_string("name");
    let image: Option<Option<String>> = match body.map().get("image") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => Some(body.opt_string("image")),
    };
    body.check()?;
    if name.is_none() && image.is_none() && fields.is_empty() {
        return Err(ApiError::message_only(
            StatusCode::BAD_REQUEST,
            "No fields to update",
        ));
    }
    let mut client = state.db().await?;
    let tx = client.transaction().await?;
    users::update_profile(
        &tx,
        &current.user.id,
        name.as_deref(),
        image.as_ref().map(|i| i.as_deref()),
    )
    .await?;
    crate::user_fields::store(&tx, &current.user.id, &fields).await?;
    let changed: Vec<&str> = [("name", name.is_some()), ("image", image.is_some())]
        .into_iter()
        .filter_map(|(key, given)| given.then_some(key))
        .chain(fields.keys().map(String::as_str))
        .collect();
    let detail = changed.join(",");
    crate::admin_actions::record_if_impersonated(&tx, &current, &ip, "update-user", &detail)
        .await?;
    tx.commit().await?;
    // BetterAuth re-sets the session cookie after an update.
    let cookies =
        current_session::session_cookies(&state, &current.session.token, !current.dont_remember);
    Ok(respond::json_with_cookies(
        StatusCode::OK,
        json!({"status": true}),
        cookies,
    ))
}
