//! Calling another service of this stack as the user who called this one. The kit's
//! `PeerClient` (in the service state) knows every base service's API (`SERVICE_URLS`) and sends
//! this request's own cookie along, so the other service's guard asks auth about the same
//! session and sees the same user, with the same roles: `GET /calls/billing/me` answers what
//! `billing` answers this user on its `/me`, or passes on its refusal (401, 403).

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use stackr_kit::extract::{Json, Path};
use stackr_kit::peer::{ForwardedCookie, PeerClient, PeerError};
use stackr_kit::{Principal, ServiceState};

pub fn routes() -> Router<ServiceState> {
    Router::new().route("/calls/{service}/me", get(their_me))
}

async fn their_me(
    who: Principal,
    Path(service): Path<String>,
    cookie: ForwardedCookie,
    State(peers): State<PeerClient>,
) -> Result<Json<Value>, PeerError> {
    let answer: Value = peers.get(&service, "/me", &cookie).await?;
    Ok(Json(
        json!({ "caller": who.user_id(), "service": service, "answer": answer }),
    ))
}
