//! `POST /api/auth/provision` (docs/runtime-contract.md): a base service reports that it created
//! its record for the signed-in user. Proven twice: the user's forwarded cookie AND the calling
//! service's credential (`authorization: Bearer …`, compared in constant time). A user alone can
//! never set `has<Service>Account`.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::current_session;
use crate::db::service_accounts;
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::respond;
use crate::state::AppState;

fn invalid_credential() -> ApiError {
    ApiError::forbidden(
        error_codes::INVALID_SERVICE_CREDENTIAL,
        "Invalid service credential",
    )
}

/// Constant-time check of the presented credential for `service`. Unknown services are compared
/// against a dummy so timing does not reveal which service names exist.
fn credential_ok(state: &AppState, service: &str, presented: &[u8]) -> bool {
    match state.config.provision_services.get(service) {
        Some(expected) => bool::from(expected.expose().ct_eq(presented)),
        None => {
            let _ = [0u8; 48].as_slice().ct_eq(presented);
            false
        }
    }
}

/// The header naming the calling service on service-to-service calls, whose `authorization:
/// Bearer …` is then that service's credential, never a user's session.
pub(crate) const SERVICE_HEADER: &str = "x-stackr-service";

/// The calling service's name, once its `x-stackr-service` and `authorization: Bearer …` headers
/// prove it; `403 INVALID_SERVICE_CREDENTIAL` otherwise. Shared by every service-to-service route.
pub(crate) fn authenticate_service(state: &AppState, headers: &HeaderMap) -> ApiResult<String> {
    let service = headers
        .get(SERVICE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_owned();
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .trim();
    if service.is_empty()
        || presented.is_empty()
        || !credential_ok(state, &service, presented.as_bytes())
    {
        // Debug only: anyone can send these headers, and a line per refusal would be theirs to
        // write. A service misconfigured with the wrong credential logs the refusal itself.
        tracing::debug!(service = %service, "service call refused: invalid service credential");
        return Err(invalid_credential());
    }
    Ok(service)
}

pub async fn post(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let service = authenticate_service(&state, &headers)?;
    let current = current_session::require(&state, &headers).await?;
    let client = state.db().await?;
    service_accounts::provision(&client, &current.user.id, &service).await?;
    Ok(respond::ok_json(json!({
        "service": service,
        "userId": current.user.id,
        "provisioned": true,
    })))
}
