use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::http::HeaderValue;

/// The incoming request's `cookie` header, to be sent on unchanged to another service. Taking
/// it never fails: a request without a cookie forwards none, and the other service's guard then
/// answers 401 as it would to the browser itself.
#[derive(Clone, Debug, Default)]
pub struct ForwardedCookie(Option<HeaderValue>);

impl ForwardedCookie {
    pub fn new(header: Option<HeaderValue>) -> Self {
        ForwardedCookie(header)
    }

    pub fn header(&self) -> Option<&HeaderValue> {
        self.0.as_ref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ForwardedCookie {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(ForwardedCookie(parts.headers.get(COOKIE).cloned()))
    }
}
