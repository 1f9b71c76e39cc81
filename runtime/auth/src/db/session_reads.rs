//! The connections get-session reads sessions on: a few pooled connections that every concurrent
//! get-session shares. tokio-postgres pipelines the queries of one connection (those queued
//! together go out in one write and their answers come back in one read), so 64 concurrent
//! get-sessions cost PostgreSQL a handful of wake-ups instead of 64, and never wait for a
//! connection of their own. The session + user lookup is one short read-only statement, so
//! sharing cannot hold anyone up behind a long query or a transaction.
//!
//! The shared connections are taken from the pool once and kept; one that closed (PostgreSQL
//! restarted) goes back to the pool, which discards it, and the next read takes a new one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use deadpool_postgres::{Client, Pool, PoolError};

/// Connections shared at most: PostgreSQL runs one backend per connection, so a few keep every
/// core busy; more only split the batches.
const MAX_SHARED: usize = 4;

struct Slot {
    current: RwLock<Option<Arc<Client>>>,
    /// Held while a closed connection is replaced, so one caller connects and the others wait.
    replacing: tokio::sync::Mutex<()>,
}

pub struct SessionReads {
    pool: Pool,
    slots: Vec<Slot>,
    next: AtomicUsize,
}

impl SessionReads {
    /// Shares at most half the pool (the other routes keep the rest); none when the pool has
    /// fewer than two connections, and then every read takes its own from the pool.
    pub fn new(pool: Pool) -> Self {
        let shared = (pool.status().max_size / 2).min(MAX_SHARED);
        let slots = (0..shared)
            .map(|_| Slot {
                current: RwLock::new(None),
                replacing: tokio::sync::Mutex::new(()),
            })
            .collect();
        SessionReads {
            pool,
            slots,
            next: AtomicUsize::new(0),
        }
    }

    /// A connection to read a session on, shared with other get-sessions (round robin).
    pub async fn connection(&self) -> Result<Arc<Client>, PoolError> {
        if self.slots.is_empty() {
            return Ok(Arc::new(self.pool.get().await?));
        }
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        if let Some(client) = live(slot) {
            return Ok(client);
        }
        let _replacing = slot.replacing.lock().await;
        if let Some(client) = live(slot) {
            return Ok(client);
        }
        let fresh = Arc::new(self.pool.get().await?);
        *slot
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(fresh.clone());
        Ok(fresh)
    }
}

/// The slot's connection unless it closed.
fn live(slot: &Slot) -> Option<Arc<Client>> {
    slot.current
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
        .filter(|c| !c.is_closed())
        .cloned()
}
