//! A short-lived in-process cache of verified sessions, used by `get-session` only.
//!
//! Why: get-session is the hot path of the whole stack (every base-service request ends up here),
//! and a PostgreSQL round trip per call dominates its cost.
//!
//! Why it is safe: every change made through this service invalidates the whole cache *before*
//! the response of the changing request is sent (a global generation counter is bumped after every
//! successful request that can change users or sessions, see `may_change`; entries remember the generation they were read under, so an
//! entry read concurrently with a write is born stale). Sign-out, revocations, bans, role changes,
//! 2FA changes and provisioning are therefore visible to the very next get-session. A request
//! that fails after its change was committed, or whose client leaves before the answer (its
//! handler is dropped), flushes nothing: that change waits out the TTL too. Only changes
//! made behind the service's back (direct SQL, the `set-role` CLI, a second auth instance) can go
//! unseen, for at most the TTL (`AUTH_SESSION_CACHE_MS`, default 1000 ms; 0 disables the cache).
//! Unlike BetterAuth's cookie cache, nothing is ever trusted from the client.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use axum::body::Bytes;
use chrono::{DateTime, Utc};

use crate::state::AppState;

/// Entries kept at most; beyond this the cache is simply emptied (it refills from the database).
const MAX_ENTRIES: usize = 100_000;

/// What a cache hit needs: the ready-to-send JSON body (no per-hit serialization or cloning of
/// rows) and the session's expiry (for the expiry and refresh checks).
#[derive(Clone)]
pub struct Cached {
    pub body: Bytes,
    pub expires_at: DateTime<Utc>,
}

struct Entry {
    cached: Cached,
    generation: u64,
    fetched: Instant,
}

pub struct SessionCache {
    ttl: Duration,
    generation: AtomicU64,
    entries: RwLock<HashMap<String, Entry>>,
}

impl SessionCache {
    pub fn new(ttl: Duration) -> Self {
        SessionCache {
            ttl,
            generation: AtomicU64::new(0),
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// Read this before querying the database, and pass it to `put`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn get(&self, token: &str) -> Option<Cached> {
        if !self.enabled() {
            return None;
        }
        let entries = self
            .entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let e = entries.get(token)?;
        (e.generation == self.generation() && e.fetched.elapsed() < self.ttl)
            .then(|| e.cached.clone())
    }

    pub fn put(&self, token: &str, generation: u64, cached: Cached) {
        if !self.enabled() {
            return;
        }
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            token.to_owned(),
            Entry {
                cached,
                generation,
                fetched: Instant::now(),
            },
        );
    }

    /// Makes every cached entry stale.
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut entries) = self.entries.try_write() {
            entries.clear();
        }
    }
}

/// Non-GET routes the middleware leaves alone: their success changes nothing a cached session
/// shows (mail requests only send mail, `POST get-session` reads), or the handler invalidates
/// exactly when it ended a session: sign-out, which answers 200 even without one, and signing in
/// or up, which adds one and ends the user's least recently used beyond the most they may hold
/// (`current_session::Issued::flush_ended`).
const LEFT_TO_THE_HANDLER: &[&str] = &[
    "/api/auth/get-session",
    "/api/auth/sign-out",
    "/api/auth/sign-in/email",
    "/api/auth/sign-up/email",
    "/api/auth/request-password-reset",
    "/api/auth/send-verification-email",
];

/// Could this request change users or sessions? Non-GET requests outside the list above. Only
/// their successful answers flush the cache (a refused request changed nothing, and flushing on
/// every anonymous 4xx would let anyone defeat the cache); the GETs that write, `verify-email`
/// and a provider's callback (which may end the user's least recently used sessions), invalidate
/// by themselves, as get-session does when it refreshes or deletes.
fn may_change(req: &Request) -> bool {
    let m = req.method();
    let reads = m == axum::http::Method::GET || m == axum::http::Method::HEAD;
    !reads && !LEFT_TO_THE_HANDLER.contains(&req.uri().path())
}

/// Middleware: invalidates the cache once a possibly-changing request has been handled, before
/// its response leaves — so the client that changed something never sees the old state.
pub async fn invalidate_after_changes(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let changes = may_change(&req);
    let res = next.run(req).await;
    if changes && res.status().is_success() {
        state.session_cache.invalidate_all();
    }
    res
}
