//! `Json`, `Path` and `Query` as a handler takes them: axum's, except that what cannot be read
//! (a body that is not the JSON the handler takes, a wrong content type, a path or query
//! parameter of the wrong type) is refused in the kit's `{message, code}` form with
//! `code: "VALIDATION_ERROR"`, axum's status (400, 413, 415, 422) and its reason. axum's own
//! extractors answer such requests in plain text, so a client would meet two shapes of error
//! from one service. `Json` is also the answer type, as axum's is.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The code of every refusal of this module.
pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";

/// A JSON request body, or a JSON answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Parameters of the route's path (`/notes/{id}`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

/// The query string's parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

fn refused(status: StatusCode, reason: String) -> Response {
    let body = serde_json::json!({ "message": reason, "code": VALIDATION_ERROR });
    (status, axum::Json(body)).into_response()
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|axum::Json(value)| Json(value))
            .map_err(|rejection: JsonRejection| refused(rejection.status(), rejection.body_text()))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection: PathRejection| refused(rejection.status(), rejection.body_text()))
    }
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection: QueryRejection| refused(rejection.status(), rejection.body_text()))
    }
}
