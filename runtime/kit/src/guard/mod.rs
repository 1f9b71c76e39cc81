//! The auth guard: forwards the request's cookie (or the session cookie an app's bearer token
//! stands for, see the `bearer` module) to auth and turns the answer into an identity.
//!
//! Build one [`Guard`] per service (its flavor decides roles, provisioning and device sessions),
//! put it in the router state, and protect handlers either with the extractors ([`Authenticated`],
//! [`Principal`]) or with the middleware ([`require_auth`], [`require_auth_or_device_session`]).
//! Identity comes only from auth's get-session answer or, in flavor `flexible`, from a device
//! session in the service's own database. Headers such as `x-user-id` are never read.

mod bearer;
mod build;
mod cache_key;
mod extract;
mod flavor;
mod middleware;
mod origin;
mod rejection;

use std::sync::Arc;

use axum::http::{HeaderMap, Method};
use stackr_contract::cookie::{self, SESSION_TOKEN_NAMES};

pub use build::GuardBuilder;
pub use extract::{Authenticated, Principal};
pub use flavor::Flavor;
pub use middleware::{require_auth, require_auth_or_device_session};
pub use origin::TrustedOrigins;
pub use rejection::GuardRejection;

use crate::auth::{AuthClient, User, VerifiedSession};
use crate::cache::SessionCache;
use crate::device::{DeviceSessions, OwnerStatuses};
use crate::provision::{ProvisionError, Provisioner};

/// The longest cookie header forwarded. Auth reads at most `MAX_HEADER_BUFFER` bytes of a
/// request's head, and the guard's request adds its own (the service's name and credential, the
/// URL, the host) to the cookie: a cookie that left them no room made auth refuse the request,
/// which the guard took for auth being down (503 and a warning), at any anonymous client's will.
/// Half leaves ample room, and is far more than a browser sends one site. Longer is no session.
const MAX_FORWARDED_COOKIE: usize = stackr_contract::http_server::MAX_HEADER_BUFFER / 2;

/// The header a device presents instead of a cookie (flavor `flexible`).
pub const DEVICE_SESSION_HEADER: &str = "x-device-session-token";

/// Cheap to clone; all clones share the auth client, the cache and the stores.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

struct Inner {
    flavor: Flavor,
    auth: Option<AuthClient>,
    cache: Option<SessionCache>,
    /// Role-gated only: the roles that pass besides `admin`.
    allowed_roles: Vec<String>,
    /// Where cookie-carrying state changes may come from.
    origins: TrustedOrigins,
    provisioner: Option<Provisioner>,
    devices: Option<DeviceSessions>,
    /// With `devices`: auth's word on each device session's owner.
    owners: Option<OwnerStatuses>,
}

impl Guard {
    pub fn builder(flavor: Flavor, auth: AuthClient) -> GuardBuilder {
        GuardBuilder::new(flavor, auth)
    }

    /// The guard of a flavor-`none` service: every authenticating extractor answers 500, because
    /// using one there is a programming error, not a user's.
    pub fn disabled() -> Guard {
        Guard {
            inner: Arc::new(Inner {
                flavor: Flavor::None,
                auth: None,
                cache: None,
                allowed_roles: Vec::new(),
                origins: TrustedOrigins::default(),
                provisioner: None,
                devices: None,
                owners: None,
            }),
        }
    }

    pub fn flavor(&self) -> Flavor {
        self.inner.flavor
    }

    pub fn allowed_roles(&self) -> &[String] {
        &self.inner.allowed_roles
    }

    /// The device-session store (flavor `flexible`), for creating and revoking device sessions.
    pub fn device_sessions(&self) -> Option<&DeviceSessions> {
        self.inner.devices.as_ref()
    }

    /// The CSRF check every extractor and middleware of the guard runs first: a state-changing
    /// request carrying a cookie must come from a trusted origin (see [`TrustedOrigins`]).
    pub fn check_origin(&self, method: &Method, headers: &HeaderMap) -> Result<(), GuardRejection> {
        self.inner.origins.check(method, headers)
    }

    /// Authenticates a signed-in user from the request's cookie: auth's answer (or a cached copy
    /// younger than the TTL), then the role gate, then first-call provisioning.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Authenticated, GuardRejection> {
        let auth = self
            .inner
            .auth
            .as_ref()
            .ok_or(GuardRejection::NotConfigured)?;
        let cookie = cookie_header(headers).ok_or(GuardRejection::Unauthenticated)?;
        let mut verified = self.verify_cookie(auth, &cookie).await?;
        self.check_roles(&verified.user)?;
        if let Some(provisioner) = &self.inner.provisioner {
            // A failure is logged by the provisioner, when provisioning starts failing and when
            // it is back.
            provisioner
                .ensure(&verified.user.id, &cookie)
                .await
                .map_err(|e| match e {
                    ProvisionError::SessionGone => GuardRejection::Unauthenticated,
                    _ => GuardRejection::ServiceUnavailable,
                })?;
            // Auth's answer (maybe cached) may predate this service's account, which exists now.
            let flag = provisioner.account_flag();
            if verified.user.account_flag(flag) == Some(false) {
                let mut provisioned = (*verified).clone();
                provisioned.user.note_account(flag);
                verified = Arc::new(provisioned);
            }
        }
        Ok(Authenticated::new(verified))
    }

    /// A device session when the request carries `x-device-session-token` (and this guard has
    /// device sessions), otherwise the cookie path of [`Guard::authenticate`]. A presented device
    /// token that is unknown, expired or revoked, or whose owner auth no longer vouches for
    /// (banned, deleted, sessions revoked since it was created), is a 401: it never falls back to
    /// the cookie, so a request's identity does not depend on which of two credentials worked.
    pub async fn authenticate_or_device(
        &self,
        headers: &HeaderMap,
    ) -> Result<Principal, GuardRejection> {
        if let (Some(devices), Some(token)) =
            (&self.inner.devices, headers.get(DEVICE_SESSION_HEADER))
        {
            let token = token
                .to_str()
                .map_err(|_| GuardRejection::Unauthenticated)?;
            return match devices.verify(token).await {
                Ok(Some(device)) => {
                    self.owners()?
                        .admit(&device.user_id, device.owner_epoch)
                        .await?;
                    Ok(Principal::Device(device))
                }
                Ok(None) => Err(GuardRejection::Unauthenticated),
                // Logged by the store, when lookups start failing and when they are back.
                Err(_) => Err(GuardRejection::ServiceUnavailable),
            };
        }
        self.authenticate(headers).await.map(Principal::User)
    }

    /// The credential epoch to stamp on a device session `user` is creating: read from auth first,
    /// then the creating cookie is verified again with auth, from its database (never from this
    /// guard's cache nor auth's, which another auth replica's revocation does not reach). A
    /// revocation deletes the sessions before moving the epoch on, so either the cookie check
    /// fails or the epoch read is already stale and the new device session dies with the others.
    pub(crate) async fn epoch_for_new_device(
        &self,
        user: &Authenticated,
        headers: &HeaderMap,
    ) -> Result<i64, GuardRejection> {
        let auth = self
            .inner
            .auth
            .as_ref()
            .ok_or(GuardRejection::NotConfigured)?;
        let epoch = self.owners()?.current_epoch(&user.user().id).await?;
        let cookie = cookie_header(headers).ok_or(GuardRejection::Unauthenticated)?;
        let fresh = verdict(
            auth.get_session_uncached(&cookie)
                .await
                .map(|v| v.map(Arc::new)),
        )?;
        if fresh.user.id == user.user().id {
            Ok(epoch)
        } else {
            Err(GuardRejection::Unauthenticated)
        }
    }

    fn owners(&self) -> Result<&OwnerStatuses, GuardRejection> {
        self.inner
            .owners
            .as_ref()
            .ok_or(GuardRejection::NotConfigured)
    }

    async fn verify_cookie(
        &self,
        auth: &AuthClient,
        cookie: &str,
    ) -> Result<Arc<VerifiedSession>, GuardRejection> {
        let cache = self.inner.cache.as_ref();
        let answer = match cache.zip(cache_key::session_cache_key(cookie)) {
            Some((cache, key)) => {
                // Shared with the requests waiting for the same answer.
                cache
                    .get_or_verify(&key, || async {
                        auth.get_session(cookie).await.map_err(Arc::new)
                    })
                    .await
            }
            None => auth
                .get_session(cookie)
                .await
                .map(|v| v.map(Arc::new))
                .map_err(Arc::new),
        };
        verdict(answer)
    }

    fn check_roles(&self, user: &User) -> Result<(), GuardRejection> {
        if self.inner.flavor != Flavor::RoleGated || user.is_admin() {
            return Ok(());
        }
        if self.inner.allowed_roles.iter().any(|r| user.has_role(r)) {
            Ok(())
        } else {
            Err(GuardRejection::Forbidden)
        }
    }
}

/// What auth's answer (or a cached copy of it) about a cookie means for the request.
fn verdict(
    answer: Result<Option<Arc<VerifiedSession>>, impl std::fmt::Display>,
) -> Result<Arc<VerifiedSession>, GuardRejection> {
    match answer {
        // Auth should never vouch for an expired session; if it does (clock trouble, a stale
        // copy), or a cached copy outlives it, the session's own expiry still wins.
        Ok(Some(verified)) if verified.session.expires_at > chrono::Utc::now() => Ok(verified),
        Ok(_) => Err(GuardRejection::Unauthenticated),
        // Logged by the auth client, when auth starts failing and when it is back.
        Err(_) => Err(GuardRejection::AuthUnavailable),
    }
}

/// What to forward to auth as the request's `cookie` header: the session cookie a signed bearer
/// token stands for (it wins, as at auth), else the request's cookies exactly as sent (several
/// `cookie` headers, as HTTP/2 allows, are joined the way HTTP/1.1 would have sent them). `None`
/// when there is no session to forward, or more cookie than [`MAX_FORWARDED_COOKIE`]. Calls to
/// other services forward the same ([`crate::peer::ForwardedCookie`]), so both see the
/// credential this request was checked with.
pub(crate) fn cookie_header(headers: &HeaderMap) -> Option<String> {
    if let Some(cookie) = bearer::as_cookie(headers) {
        return Some(cookie);
    }
    let parts: Vec<&str> = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    // Cookies without one of a session's names, as auth reads them, carry no session: they are
    // refused without a round trip (anonymous traffic with analytics cookies must not turn into
    // get-session load on auth). This only ever rejects; it never admits.
    let session_named = SESSION_TOKEN_NAMES
        .iter()
        .any(|name| cookie::find(parts.iter().copied(), name).is_some());
    session_named
        .then(|| parts.join("; "))
        .filter(|joined| joined.len() <= MAX_FORWARDED_COOKIE)
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::cookie_header;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("cookie", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn forwards_all_cookie_headers_joined_when_a_session_cookie_is_there() {
        assert_eq!(
            cookie_header(&headers(&[
                "theme=dark",
                "better-auth.session_token=abc.sig"
            ]))
            .as_deref(),
            Some("theme=dark; better-auth.session_token=abc.sig")
        );
        assert!(cookie_header(&headers(&["__Secure-better-auth.session_token=abc.sig"])).is_some());
    }

    #[test]
    fn forwards_no_more_cookie_than_auth_can_read_beside_the_guards_headers() {
        let session = "better-auth.session_token=abc.sig";
        let padding =
            |len: usize| format!("pad={}", "x".repeat(len - "pad=; ".len() - session.len()));
        let at_most = padding(super::MAX_FORWARDED_COOKIE);
        assert!(cookie_header(&headers(&[&at_most, session])).is_some());
        let over = padding(super::MAX_FORWARDED_COOKIE + 1);
        assert_eq!(cookie_header(&headers(&[&over, session])), None);
    }

    #[test]
    fn no_session_cookie_means_nothing_to_forward() {
        assert!(cookie_header(&headers(&[])).is_none());
        assert!(cookie_header(&headers(&["  "])).is_none());
        assert!(cookie_header(&headers(&["_ga=GA1.2.3; theme=dark"])).is_none());
        // Only a cookie of a session cookie's name is one: a name or a value merely holding one
        // is not.
        assert!(cookie_header(&headers(&["utm=session_token=abc.sig"])).is_none());
        assert!(cookie_header(&headers(&["x.better-auth.session_token=abc.sig"])).is_none());
    }
}
