//! Whether the owner of a device session still stands, as auth says (`GET /api/auth/user-status`,
//! proven by the service credential), cached per user for the guard's session-cache TTL.
//!
//! A device session is never more powerful than the user session it came from: once the owner is
//! banned or deleted, or their sessions are revoked wholesale (sign-out everywhere, password
//! reset, ban) or one by one (revoking another session), auth's answer says so and the device is
//! refused within the TTL. The TTL runs from when auth was asked, not from when it answered (as
//! in the session cache), and an answer to an earlier question never replaces one to a later
//! question: a slow answer given before a ban was recorded must not outlive the ban's answer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::{AuthClient, AuthError, OwnerStatus};
use crate::guard::GuardRejection;

/// Above this many cached owners the cache is emptied (it refills with one call per owner).
const MAX_ENTRIES: usize = 100_000;

pub(crate) struct OwnerStatuses {
    auth: AuthClient,
    ttl: Duration,
    entries: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    /// `None` is auth's verdict that the user no longer exists.
    status: Option<OwnerStatus>,
    /// When auth was asked: what auth knew then is all the answer can say.
    asked: Instant,
}

impl OwnerStatuses {
    /// `ttl` zero: every device request asks auth.
    pub(crate) fn new(auth: AuthClient, ttl: Duration) -> Self {
        OwnerStatuses {
            auth,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Ok when a device session of `user_id` stamped with `device_epoch` may act for them.
    pub(crate) async fn admit(
        &self,
        user_id: &str,
        device_epoch: i64,
    ) -> Result<(), GuardRejection> {
        let status = match self.cached(user_id) {
            Some(status) => status,
            None => self.fetch(user_id).await?,
        };
        match status {
            Some(s) if !s.banned && s.credential_epoch <= device_epoch => Ok(()),
            _ => Err(GuardRejection::Unauthenticated),
        }
    }

    /// The owner's current epoch, straight from auth (never from the cache: a new device session
    /// must not be stamped with an epoch that has already moved on), for stamping a new device
    /// session. Refused when the owner is banned or gone.
    pub(crate) async fn current_epoch(&self, user_id: &str) -> Result<i64, GuardRejection> {
        match self.fetch(user_id).await? {
            Some(s) if !s.banned => Ok(s.credential_epoch),
            _ => Err(GuardRejection::Unauthenticated),
        }
    }

    fn cached(&self, user_id: &str) -> Option<Option<OwnerStatus>> {
        let entries = self.entries.lock().expect("owner status cache");
        entries
            .get(user_id)
            .filter(|cached| cached.asked.elapsed() < self.ttl)
            .map(|cached| cached.status.clone())
    }

    async fn fetch(&self, user_id: &str) -> Result<Option<OwnerStatus>, GuardRejection> {
        let asked = Instant::now();
        // Logged by the auth client, when auth starts failing and when it is back.
        let status = self.auth.user_status(user_id).await.map_err(|e| match e {
            AuthError::CredentialRejected => GuardRejection::ServiceUnavailable,
            _ => GuardRejection::AuthUnavailable,
        })?;
        self.remember(user_id, &status, asked);
        Ok(status)
    }

    /// Caches auth's answer to the question asked at `asked`, unless it is already as old as the
    /// TTL (always so when the TTL is zero: the cache is off) or an answer to a later question is
    /// cached.
    fn remember(&self, user_id: &str, status: &Option<OwnerStatus>, asked: Instant) {
        if asked.elapsed() >= self.ttl {
            return;
        }
        let mut entries = self.entries.lock().expect("owner status cache");
        if entries
            .get(user_id)
            .is_some_and(|cached| cached.asked > asked)
        {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        let status = status.clone();
        entries.insert(user_id.to_owned(), Cached { status, asked });
    }
}

#[cfg(test)]
mod tests;
