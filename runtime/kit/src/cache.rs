//! The optional verified-session cache.
//!
//! Keyed by SHA-256 of what auth's answer depends on (the guard's key: the session cookie auth
//! reads, not the whole `cookie` header, see `guard::cache_key`; the cookie is never stored),
//! bounded in size, each entry living at most `ttl` from when auth was asked (not from when it
//! answered) and never past the session's own expiry.
//! Only positive answers are cached: a `null` or a failure is asked again next time, so garbage
//! cookies cannot fill the cache and an outage is never remembered as a verdict.
//!
//! Concurrent misses for the same key are coalesced: one request asks auth, the others wait
//! for it and take its answer. A failure or `None` is taken whatever its age; a positive answer
//! only by a request that came less than `ttl` after auth was asked, as a cache entry of it would
//! have served it (when auth is slower than the TTL, a later waiter asks auth again), so a
//! sign-out stops working within the TTL however slow auth is. Without coalescing, every entry's
//! expiry sends one get-session per in-flight request of that user (a page firing 30 calls costs
//! auth 30 calls); and with only positive answers shared, a hung auth would fail those 30
//! requests one request timeout after another instead of all within one.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::auth::VerifiedSession;

pub const DEFAULT_CAPACITY: usize = 10_000;

type KeyHash = [u8; 32];

struct Entry {
    session: Arc<VerifiedSession>,
    expires: Instant,
}

pub struct SessionCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<KeyHash, Entry>>,
    /// One queue per key currently being verified with auth.
    in_flight: Mutex<HashMap<KeyHash, Arc<Flight>>>,
}

/// The callers verifying one key, one at a time, and the last verification's answer.
#[derive(Default)]
struct Flight {
    last: tokio::sync::Mutex<Option<Finished>>,
}

/// One caller's place in a key's [`Flight`]. Dropped when the caller is done, or cancelled (a
/// client that went away drops its request): the last caller out removes the flight, so a flood
/// of keys whose clients hang up leaves nothing behind.
struct InFlight<'a> {
    cache: &'a SessionCache,
    key: KeyHash,
    flight: Arc<Flight>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.cache.in_flight.lock().expect("in-flight lock");
        // Clones are only made under this mutex, so 2 (the map's and ours) means nobody waits.
        let ours = in_flight
            .get(&self.key)
            .is_some_and(|mapped| Arc::ptr_eq(mapped, &self.flight));
        if ours && Arc::strong_count(&self.flight) == 2 {
            in_flight.remove(&self.key);
        }
    }
}

/// A verification's answer (a `Result<Option<Arc<VerifiedSession>>, E>` of the caller's `E`),
/// for the callers that were waiting when it finished.
struct Finished {
    at: Instant,
    /// For a positive answer, `ttl` after auth was asked: a caller that came at or after this
    /// asks again, since auth may have read the session before a sign-out that is now older than
    /// the TTL. `None` for an answer that lets nobody in, shared however long auth took.
    admits_until: Option<Instant>,
    answer: Box<dyn Any + Send + Sync>,
}

impl SessionCache {
    /// `None` when `ttl` is zero: the cache is off and every request asks auth.
    pub fn new(ttl: Duration, capacity: usize) -> Option<Self> {
        (!ttl.is_zero() && capacity > 0).then(|| SessionCache {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::with_capacity(capacity.min(1024))),
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn get(&self, key: &str) -> Option<Arc<VerifiedSession>> {
        let key = hash(key);
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("session cache lock");
        match entries.get(&key) {
            Some(e) if e.expires > now => Some(e.session.clone()),
            Some(_) => {
                entries.remove(&key);
                None
            }
            None => None,
        }
    }

    /// The cached session, or the result of `verify` (cached when positive), with concurrent
    /// callers for the same key sharing one `verify`: those waiting when it finishes take its
    /// answer, a failure or `None` included, a positive one only if they came less than the TTL
    /// after it was asked; a caller coming later asks again.
    pub async fn get_or_verify<F, Fut, E>(
        &self,
        key: &str,
        verify: F,
    ) -> Result<Option<Arc<VerifiedSession>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<VerifiedSession>, E>>,
        E: Clone + Send + Sync + 'static,
    {
        if let Some(hit) = self.get(key) {
            return Ok(Some(hit));
        }
        let came = Instant::now();
        let hashed = hash(key);
        let flight = self
            .in_flight
            .lock()
            .expect("in-flight lock")
            .entry(hashed)
            .or_default()
            .clone();
        let flight = InFlight {
            cache: self,
            key: hashed,
            flight,
        };
        {
            let mut last = flight.flight.last.lock().await;
            let shared = last
                .as_ref()
                .filter(|finished| {
                    finished.at >= came && finished.admits_until.is_none_or(|until| until > came)
                })
                .and_then(|finished| {
                    finished
                        .answer
                        .downcast_ref::<Result<Option<Arc<VerifiedSession>>, E>>()
                });
            match (shared, self.get(key)) {
                // Asked for us while we waited.
                (Some(answer), _) => answer.clone(),
                // Verified and cached since we looked.
                (None, Some(hit)) => Ok(Some(hit)),
                (None, None) => {
                    let asked = Instant::now();
                    let answer = verify().await.map(|verified| verified.map(Arc::new));
                    if let Ok(Some(verified)) = &answer {
                        self.insert_asked_at(key, verified.clone(), asked);
                    }
                    *last = Some(Finished {
                        at: Instant::now(),
                        admits_until: matches!(answer, Ok(Some(_)))
                            .then(|| asked.checked_add(self.ttl))
                            .flatten(),
                        answer: Box::new(answer.clone()),
                    });
                    answer
                }
            }
        }
    }

    pub fn insert(&self, key: &str, session: Arc<VerifiedSession>) {
        self.insert_asked_at(key, session, Instant::now());
    }

    /// Caches an answer auth gave to a question asked at `asked`: a revocation auth saw just
    /// after that must not be answered from here for longer than the TTL, however long auth took.
    fn insert_asked_at(&self, key: &str, session: Arc<VerifiedSession>, asked: Instant) {
        let now = Instant::now();
        let until_session_ends = (session.session.expires_at - chrono::Utc::now())
            .to_std()
            .unwrap_or_default();
        let lifetime = self.ttl.min(until_session_ends);
        let Some(expires) = asked.checked_add(lifetime).filter(|expires| *expires > now) else {
            return;
        };
        let key = hash(key);
        let mut entries = self.entries.lock().expect("session cache lock");
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, e| e.expires > now);
            if entries.len() >= self.capacity {
                // Still full of live entries: drop the eighth closest to expiry, so that the
                // table is scanned once per that many new entries, not on each.
                let room = (self.capacity / 8).max(1);
                let mut by_expiry: Vec<(Instant, KeyHash)> =
                    entries.iter().map(|(k, e)| (e.expires, *k)).collect();
                by_expiry.select_nth_unstable(room - 1);
                for (_, oldest) in &by_expiry[..room] {
                    entries.remove(oldest);
                }
            }
        }
        entries.insert(key, Entry { session, expires });
    }

    pub fn len(&self) -> usize {
        self.entries.lock().expect("session cache lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn hash(key: &str) -> KeyHash {
    Sha256::digest(key.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Session, User};

    fn session(user: &str, expires_in: chrono::Duration) -> Arc<VerifiedSession> {
        Arc::new(VerifiedSession {
            session: Session {
                id: format!("s-{user}"),
                user_id: user.into(),
                expires_at: chrono::Utc::now() + expires_in,
                created_at: None,
                updated_at: None,
                ip_address: None,
                user_agent: None,
                impersonated_by: None,
            },
            user: serde_json::from_value(serde_json::json!({"id": user})).unwrap(),
        })
    }

    #[test]
    fn zero_ttl_disables() {
        assert!(SessionCache::new(Duration::ZERO, 10).is_none());
    }

    #[test]
    fn entries_expire_after_ttl() {
        let cache = SessionCache::new(Duration::from_millis(50), 10).unwrap();
        cache.insert("c=1", session("u", chrono::Duration::days(1)));
        assert_eq!(cache.get("c=1").unwrap().user.id, "u");
        assert!(cache.get("c=2").is_none());
        std::thread::sleep(Duration::from_millis(70));
        assert!(cache.get("c=1").is_none());
    }

    #[test]
    fn never_outlives_the_session() {
        let cache = SessionCache::new(Duration::from_secs(60), 10).unwrap();
        cache.insert("c=1", session("u", chrono::Duration::seconds(-1)));
        assert!(cache.get("c=1").is_none());
    }

    #[test]
    fn size_is_bounded() {
        let cache = SessionCache::new(Duration::from_secs(60), 3).unwrap();
        for i in 0..10 {
            cache.insert(
                &format!("c={i}"),
                session(&i.to_string(), chrono::Duration::days(1)),
            );
        }
        assert!(cache.len() <= 3, "{}", cache.len());
        assert!(cache.get("c=9").is_some(), "the newest entry survives");
    }

    /// Anyone signed in can add entries: up to three per session, one per way of naming its
    /// cookie (`guard::cache_key`), and each sign-in is a new session. Once the cache is full of
    /// live ones, a new entry makes room for an eighth of the capacity at once, so the table is
    /// scanned, under the lock every request takes, once per that many new entries rather than on
    /// each.
    #[test]
    fn a_full_cache_makes_room_for_many_entries_at_once() {
        let cache = SessionCache::new(Duration::from_secs(60), 80).unwrap();
        let fill = |range: std::ops::Range<usize>| {
            for i in range {
                cache.insert(&format!("c={i}"), session("u", chrono::Duration::days(1)));
            }
        };
        fill(0..80);
        assert_eq!(cache.len(), 80);
        fill(80..81);
        assert_eq!(cache.len(), 71, "ten made room for, one of them taken");
        fill(81..90);
        assert_eq!(cache.len(), 80, "no room made while there was some");
        assert!(cache.get("c=0").is_none() && cache.get("c=89").is_some());
    }

    /// The TTL runs from the question: an answer auth took long to give lives that much less.
    #[tokio::test]
    async fn an_entry_lives_the_ttl_from_when_auth_was_asked() {
        let cache = SessionCache::new(Duration::from_millis(500), 10).unwrap();
        let answer = cache
            .get_or_verify("c=slow", || async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok::<_, ()>(Some((*session("u", chrono::Duration::days(1))).clone()))
            })
            .await
            .unwrap();
        assert!(answer.is_some());
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(
            cache.get("c=slow").is_none(),
            "still answered 550 ms after the question, with a 500 ms TTL"
        );
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_verification() {
        let cache = Arc::new(SessionCache::new(Duration::from_secs(60), 10).unwrap());
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_verify("c=1", || async {
                            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Ok::<_, ()>(Some((*session("u", chrono::Duration::days(1))).clone()))
                        })
                        .await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().unwrap().user.id, "u");
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(
            cache.in_flight.lock().unwrap().is_empty(),
            "no lock left behind"
        );
    }

    /// Auth hangs, then fails: the requests of one user waiting meanwhile all fail with the one
    /// verification, instead of one request timeout after another.
    #[tokio::test]
    async fn concurrent_misses_share_a_failure_and_a_later_one_asks_again() {
        let cache = Arc::new(SessionCache::new(Duration::from_secs(60), 10).unwrap());
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let failing = |cache: Arc<SessionCache>, calls: Arc<std::sync::atomic::AtomicUsize>| async move {
            cache
                .get_or_verify("c=1", || async {
                    calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Err::<Option<VerifiedSession>, _>("auth timed out")
                })
                .await
        };
        let tasks: Vec<_> = (0..6)
            .map(|_| tokio::spawn(failing(cache.clone(), calls.clone())))
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap_err(), "auth timed out");
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(cache.in_flight.lock().unwrap().is_empty());

        // A failure is no verdict: the next request asks auth again.
        failing(cache.clone(), calls.clone()).await.unwrap_err();
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    /// Requests whose clients hang up (their handlers are dropped while they verify or wait)
    /// leave no entry behind: anyone could otherwise grow the map by one entry per made-up cookie.
    #[tokio::test]
    async fn cancelled_verifications_leave_nothing_in_flight() {
        let cache = Arc::new(SessionCache::new(Duration::from_secs(60), 10).unwrap());
        let tasks: Vec<_> = (0..50)
            .flat_map(|i| [i, i]) // a verifying and a waiting caller per cookie
            .map(|i| {
                let cache = cache.clone();
                tokio::spawn(async move {
                    cache
                        .get_or_verify(&format!("c={i}"), || async {
                            tokio::time::sleep(Duration::from_secs(60)).await;
                            Ok::<_, ()>(None)
                        })
                        .await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(cache.in_flight.lock().unwrap().len(), 50);
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
        assert!(cache.in_flight.lock().unwrap().is_empty());
    }

    /// Waits until `waiting` callers have joined `cookie`'s flight (each has noted when it came).
    async fn queued(cache: &SessionCache, cookie: &str, waiting: usize) {
        // The map holds one reference besides the callers'.
        while cache
            .in_flight
            .lock()
            .unwrap()
            .get(&hash(cookie))
            .map_or(0, Arc::strong_count)
            < waiting + 1
        {
            tokio::task::yield_now().await;
        }
    }

    /// Auth slower than the TTL: a verification asks, the user signs out right after, and a
    /// request coming more than the TTL after the question waits for that verification. Its
    /// answer ("valid") is older than a cache entry may be, so the request asks auth itself
    /// rather than being let in on it.
    #[tokio::test]
    async fn a_waiter_does_not_take_a_positive_answer_asked_longer_than_the_ttl_before_it_came() {
        let ttl = Duration::from_millis(50);
        let cache = Arc::new(SessionCache::new(ttl, 10).unwrap());
        let (asked_tx, asked) = tokio::sync::oneshot::channel();
        let (answer, answer_rx) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let cache = cache.clone();
            async move {
                cache
                    .get_or_verify("c=1", || async move {
                        asked_tx.send(()).unwrap();
                        answer_rx.await.unwrap();
                        // What auth read when asked, before the sign-out.
                        Ok::<_, ()>(Some((*session("u", chrono::Duration::days(1))).clone()))
                    })
                    .await
            }
        });
        asked.await.unwrap();
        // Only a lower bound on time is relied on: the second request comes later than this.
        tokio::time::sleep(2 * ttl).await;
        let asked_again = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let second = tokio::spawn({
            let (cache, asked_again) = (cache.clone(), asked_again.clone());
            async move {
                cache
                    .get_or_verify("c=1", || async move {
                        asked_again.store(true, std::sync::atomic::Ordering::SeqCst);
                        Ok::<_, ()>(None) // signed out
                    })
                    .await
            }
        });
        queued(&cache, "c=1", 2).await;
        answer.send(()).unwrap();
        assert!(first.await.unwrap().unwrap().is_some(), "its own answer");
        assert!(
            second.await.unwrap().unwrap().is_none(),
            "let in on an answer asked {:?} before it came, with a {ttl:?} TTL",
            2 * ttl
        );
        assert!(asked_again.load(std::sync::atomic::Ordering::SeqCst));
        assert!(cache.is_empty() && cache.in_flight.lock().unwrap().is_empty());
    }

    /// Only a positive answer is held to the TTL: a failure, however long auth took to give it,
    /// is shared with every request that waited for it (it lets nobody in), so a hung auth still
    /// fails them all within one request timeout.
    #[tokio::test]
    async fn a_waiter_takes_a_failure_however_long_ago_it_was_asked() {
        let ttl = Duration::from_millis(50);
        let cache = Arc::new(SessionCache::new(ttl, 10).unwrap());
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (asked_tx, mut asked) = tokio::sync::mpsc::unbounded_channel();
        let (answer, answer_rx) = tokio::sync::watch::channel(false);
        let failing = |cache: Arc<SessionCache>| {
            let (calls, asked_tx, mut answer_rx) =
                (calls.clone(), asked_tx.clone(), answer_rx.clone());
            tokio::spawn(async move {
                cache
                    .get_or_verify("c=1", || async move {
                        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        asked_tx.send(()).unwrap();
                        answer_rx.wait_for(|go| *go).await.unwrap();
                        Err::<Option<VerifiedSession>, _>("auth timed out")
                    })
                    .await
            })
        };
        let first = failing(cache.clone());
        asked.recv().await.unwrap();
        tokio::time::sleep(2 * ttl).await;
        let second = failing(cache.clone());
        queued(&cache, "c=1", 2).await;
        answer.send(true).unwrap();
        assert_eq!(first.await.unwrap().unwrap_err(), "auth timed out");
        assert_eq!(second.await.unwrap().unwrap_err(), "auth timed out");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn negative_answers_are_not_cached() {
        let cache = SessionCache::new(Duration::from_secs(60), 10).unwrap();
        let none = cache
            .get_or_verify("c=x", || async { Ok::<_, ()>(None) })
            .await
            .unwrap();
        assert!(none.is_none());
        assert!(cache.is_empty());
        let err = cache
            .get_or_verify("c=x", || async {
                Err::<Option<VerifiedSession>, _>("down")
            })
            .await;
        assert_eq!(err.unwrap_err(), "down");
        assert!(cache.is_empty());
    }

    #[test]
    fn users_are_not_confused() {
        let _: &User = &session("a", chrono::Duration::days(1)).user;
        let cache = SessionCache::new(Duration::from_secs(60), 10).unwrap();
        cache.insert("c=a", session("a", chrono::Duration::days(1)));
        cache.insert("c=b", session("b", chrono::Duration::days(1)));
        assert_eq!(cache.get("c=a").unwrap().user.id, "a");
        assert_eq!(cache.get("c=b").unwrap().user.id, "b");
    }
}
