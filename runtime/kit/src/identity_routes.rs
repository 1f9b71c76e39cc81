//! The identity routes a guarded base service answers: `GET /me` as its guard flavor sees the
//! caller, and for flavor `flexible` the device-session routes. The scaffold, the demo services
//! and the checks' service mount these instead of each writing its own.

use axum::extract::FromRef;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::device::device_session_routes;
use crate::guard::{Authenticated, Flavor, Guard, Principal};

/// `GET /me` → `{"user": …}` for the signed-in user as auth vouched for them (role-gated: only
/// users with an allowed role); flexible also answers `{"device": …}` for a device session and
/// adds [`device_session_routes`]. Flavor `none` has no identity: no routes.
pub fn identity_routes<S>(flavor: Flavor) -> Router<S>
where
    Guard: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    match flavor {
        Flavor::Flexible => Router::new()
            .route("/me", get(me_or_device))
            .merge(device_session_routes()),
        Flavor::Standard | Flavor::RoleGated => Router::new().route("/me", get(me)),
        Flavor::None => Router::new(),
    }
}

async fn me(user: Authenticated) -> Json<Value> {
    Json(json!({ "user": user.user() }))
}

async fn me_or_device(who: Principal) -> Json<Value> {
    match who {
        Principal::User(user) => Json(json!({ "user": user.user() })),
        Principal::Device(device) => Json(json!({ "device": device })),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    /// What `GET path` answers on the routes of `flavor`. The guard is the disabled one, whose
    /// extractors answer 500: a route that exists answers 500, one that does not 404.
    async fn status(flavor: Flavor, path: &str) -> StatusCode {
        let app = identity_routes::<Guard>(flavor).with_state(Guard::disabled());
        let request = Request::get(path).body(Body::empty()).unwrap();
        app.oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn each_flavor_mounts_its_routes() {
        for flavor in [Flavor::Standard, Flavor::RoleGated, Flavor::Flexible] {
            assert_ne!(
                status(flavor, "/me").await,
                StatusCode::NOT_FOUND,
                "{flavor:?}"
            );
        }
        assert_ne!(
            status(Flavor::Flexible, "/device-sessions").await,
            StatusCode::NOT_FOUND
        );
        for flavor in [Flavor::Standard, Flavor::RoleGated, Flavor::None] {
            assert_eq!(
                status(flavor, "/device-sessions").await,
                StatusCode::NOT_FOUND,
                "{flavor:?}"
            );
        }
        assert_eq!(status(Flavor::None, "/me").await, StatusCode::NOT_FOUND);
    }
}
