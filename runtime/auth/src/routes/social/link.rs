//! `POST /api/auth/link-social`: a signed-in user adds a provider identity to their account.
//! The callback links it only when the session that asked is still alive, the provider vouches
//! for the address and the address is the user's own (`crate::oauth::identity::link`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::{start_flow, FlowRequest};
use crate::body::Body;
use crate::current_session;
use crate::error::ApiResult;
use crate::oauth::flow_state::Link;
use crate::state::AppState;

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let current = current_session::require(&state, &headers).await?;
    current.not_impersonated()?;
    // The session is checked before the body here, as BetterAuth does on this route.
    let mut body = Body::parse(&headers, &bytes, false)?;
    let request = FlowRequest::parse(&state, &mut body)?;
    let provider = request.provider(&state)?;
    let link = Link {
        email: current.user.email.clone(),
        user_id: current.user.id.clone(),
        encrypted_session_token: Some(state.secrets().encrypt(&current.session.token)),
    };
    start_flow(&state, &provider, request, Some(link)).await
}
