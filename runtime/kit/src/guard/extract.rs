use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use super::{Guard, GuardRejection};
use crate::auth::{Session, User, VerifiedSession};
use crate::device::DeviceIdentity;

/// A signed-in user, verified by auth (and role-gated / provisioned per the guard's flavor).
///
/// As an extractor it needs `Guard: FromRef<S>`. If [`super::require_auth`] already ran for the
/// request, the extractor reuses its result instead of asking auth again.
#[derive(Clone, Debug)]
pub struct Authenticated(Arc<VerifiedSession>);

impl Authenticated {
    pub(crate) fn new(v: Arc<VerifiedSession>) -> Self {
        Authenticated(v)
    }

    pub fn user(&self) -> &User {
        &self.0.user
    }

    pub fn session(&self) -> &Session {
        &self.0.session
    }
}

impl Deref for Authenticated {
    type Target = VerifiedSession;

    fn deref(&self) -> &VerifiedSession {
        &self.0
    }
}

impl<S> FromRequestParts<S> for Authenticated
where
    Guard: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = GuardRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(done) = parts.extensions.get::<Authenticated>() {
            return Ok(done.clone());
        }
        let guard = Guard::from_ref(state);
        guard.check_origin(&parts.method, &parts.headers)?;
        guard.authenticate(&parts.headers).await
    }
}

/// Who is calling a flexible route: a signed-in user (cookie) or a device session.
#[derive(Clone, Debug)]
pub enum Principal {
    User(Authenticated),
    Device(DeviceIdentity),
}

impl Principal {
    /// The user the request acts for (a device session acts for the user who created it).
    pub fn user_id(&self) -> &str {
        match self {
            Principal::User(a) => &a.user().id,
            Principal::Device(d) => &d.user_id,
        }
    }

    pub fn is_device(&self) -> bool {
        matches!(self, Principal::Device(_))
    }
}

impl<S> FromRequestParts<S> for Principal
where
    Guard: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = GuardRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(done) = parts.extensions.get::<Principal>() {
            return Ok(done.clone());
        }
        let guard = Guard::from_ref(state);
        guard.check_origin(&parts.method, &parts.headers)?;
        guard.authenticate_or_device(&parts.headers).await
    }
}
