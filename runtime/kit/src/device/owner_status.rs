//! Whether the owner of a device session still stands, as auth says (`GET /api/auth/user-status`,
//! proven by the service credential), cached per user for the guard's session-cache TTL.
//!
//! A device session is never more powerful than the user session it came from: once the owner is
//! banned or deleted, or their sessions are revoked wholesale (sign-out everywhere, password
//! reset, ban) or one by one (revoking another session), auth's answer says so and the device is
//! refused within the TTL. The TTL runs from when auth was asked, not from when it answered (as
//! in the session cache), and an answer to an earlier question never replaces one to a later
//! question: a slow answer given before a ban was recorded must not outlive the ban's answer.
//!
//! A device's requests that find no fresh status wait for the question already in flight for
//! that owner, and take its answer (as the session cache's requests of one cookie do): a burst of
//! them is one call to auth, not one each, and while auth fails they share the failure instead of
//! asking one after another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::auth::{AuthClient, AuthError, OwnerStatus};
use crate::guard::GuardRejection;

/// Above this many cached owners the cache is emptied (it refills with one call per owner).
const MAX_ENTRIES: usize = 100_000;

pub(crate) struct OwnerStatuses {
    auth: AuthClient,
    ttl: Duration,
    entries: Mutex<HashMap<String, Cached>>,
    /// By owner: the question in flight, or the last one answered, while anyone waits for it.
    flights: Mutex<HashMap<String, Arc<Flight>>>,
}

type Answer = Result<Option<OwnerStatus>, GuardRejection>;

#[derive(Default)]
struct Flight {
    /// Held while auth is asked; then the answer.
    last: tokio::sync::Mutex<Option<Finished>>,
}

struct Finished {
    asked: Instant,
    answered: Instant,
    answer: Answer,
}

impl Finished {
    /// Whether a request that came at `came` may take this answer: one answered after it came
    /// (it waited for this question), and, when it is a status that may admit a device, asked
    /// less than the TTL before (the TTL runs from the question, for requests sharing it too).
    fn serves(&self, came: Instant, ttl: Duration) -> bool {
        self.answered >= came
            && match &self.answer {
                Ok(Some(_)) => came.duration_since(self.asked) < ttl,
                Ok(None) | Err(_) => true,
            }
    }
}

/// A request's part in an owner's flight: the last one out takes the flight off the map. Its
/// hold on the flight is taken and given up under the map's lock only, so that the count read
/// there is every request's: two leaving at once, each reading the other's hold before either
/// let go, left the flight in the map for good.
struct Aboard<'a> {
    owners: &'a OwnerStatuses,
    user_id: &'a str,
    flight: Option<Arc<Flight>>,
}

impl Aboard<'_> {
    fn flight(&self) -> &Flight {
        self.flight.as_deref().expect("aboard until dropped")
    }
}

impl Drop for Aboard<'_> {
    fn drop(&mut self) {
        let mut flights = self.owners.flights.lock().expect("owner status flights");
        let Some(ours) = self.flight.take() else {
            return;
        };
        let mapped = flights
            .get(self.user_id)
            .is_some_and(|mapped| Arc::ptr_eq(mapped, &ours));
        drop(ours);
        // Only the map's hold is left: nobody else is aboard.
        if mapped
            && flights
                .get(self.user_id)
                .is_some_and(|flight| Arc::strong_count(flight) == 1)
        {
            flights.remove(self.user_id);
        }
    }
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
            flights: Mutex::new(HashMap::new()),
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
            None => self.fetch_shared(user_id).await?,
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

    /// Auth's answer about `user_id` to the question in flight when this request came, or to a
    /// new one (see the module docs). With the cache off, every request asks on its own.
    async fn fetch_shared(&self, user_id: &str) -> Answer {
        if self.ttl.is_zero() {
            return self.fetch(user_id).await;
        }
        let came = Instant::now();
        let flight = self
            .flights
            .lock()
            .expect("owner status flights")
            .entry(user_id.to_owned())
            .or_default()
            .clone();
        let aboard = Aboard {
            owners: self,
            user_id,
            flight: Some(flight),
        };
        let mut last = aboard.flight().last.lock().await;
        if let Some(finished) = last.as_ref().filter(|f| f.serves(came, self.ttl)) {
            return finished.answer.clone();
        }
        if let Some(status) = self.cached(user_id) {
            return Ok(status);
        }
        let asked = Instant::now();
        let answer = self.fetch(user_id).await;
        *last = Some(Finished {
            asked,
            answered: Instant::now(),
            answer: answer.clone(),
        });
        answer
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
