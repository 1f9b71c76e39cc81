use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Guard, Principal};

/// Layer form of the guard for a whole router:
/// `router.route_layer(axum::middleware::from_fn_with_state(guard, require_auth))`.
/// On success the request carries [`super::Authenticated`] in its extensions.
pub async fn require_auth(
    State(guard): State<Guard>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Err(rejection) = guard.check_origin(request.method(), request.headers()) {
        return rejection.into_response();
    }
    match guard.authenticate(request.headers()).await {
        Ok(user) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        Err(rejection) => rejection.into_response(),
    }
}

/// Layer form for flexible routes: a signed-in user or a device session. On success the request
/// carries a [`Principal`] (and, for a user, [`super::Authenticated`]) in its extensions.
pub async fn require_auth_or_device_session(
    State(guard): State<Guard>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Err(rejection) = guard.check_origin(request.method(), request.headers()) {
        return rejection.into_response();
    }
    match guard.authenticate_or_device(request.headers()).await {
        Ok(principal) => {
            if let Principal::User(user) = &principal {
                request.extensions_mut().insert(user.clone());
            }
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(rejection) => rejection.into_response(),
    }
}
