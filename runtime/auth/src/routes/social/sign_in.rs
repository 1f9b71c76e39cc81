//! `POST /api/auth/sign-in/social`: starts a sign-in at a provider.

use axum::extract::State;
use axum::response::Response;

use super::{start_flow, FlowRequest};
use crate::body::JsonBody;
use crate::error::ApiResult;
use crate::state::AppState;

pub async fn post(
    State(state): State<AppState>,
    JsonBody(mut body): JsonBody,
) -> ApiResult<Response> {
    let request = FlowRequest::parse(&state, &mut body)?;
    let provider = request.provider(&state)?;
    start_flow(&state, &provider, request, None).await
}
