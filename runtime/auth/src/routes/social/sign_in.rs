//! `POST /api/auth/sign-in/social`: starts a sign-in at a provider.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::{start_flow, FlowRequest};
use crate::body::Body;
use crate::error::ApiResult;
use crate::state::AppState;

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let mut body = Body::parse(&headers, &bytes, false)?;
    let request = FlowRequest::parse(&state, &mut body)?;
    let provider = request.provider(&state)?;
    start_flow(&state, &provider, request, None).await
}
