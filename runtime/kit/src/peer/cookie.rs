use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderValue;

/// The session the incoming request carries, as the `cookie` header to send on to another
/// service: what the guard sent auth for this request (its cookies as sent, several `cookie`
/// headers joined; a bearer token's session), so that the other service checks the same
/// credential. Taking it never fails: a request without a session forwards none, and the other
/// service's guard then answers 401 as it would to the browser itself.
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
        let header = crate::guard::cookie_header(&parts.headers)
            .and_then(|cookie| HeaderValue::from_str(&cookie).ok());
        Ok(ForwardedCookie(header))
    }
}
