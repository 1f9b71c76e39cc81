//! `GET /health`: 200 when the service's own PostgreSQL and Redis answer, 503 naming what does
//! not. Details go to the log, not to the (public) response.
//!
//! Anyone may ask, as often and as many at once as they like, and the database check takes a
//! connection from the pool the service's requests use. So one check runs at a time: whoever
//! asks while it runs waits for it and is answered from it (at most `CHECK_TIMEOUT` old), and a
//! flood of `/health` holds one pooled connection and one Redis `PING` at a time, never the
//! whole pool. Who asks after it ended starts the next: an answer is never older than the check
//! that was running when it was asked for.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, MethodRouter};
use axum::Json;
use deadpool_postgres::Pool;
use redis::aio::ConnectionManager;
use serde_json::json;
use tokio::sync::watch;

use stackr_tls::outage::Outage;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct HealthChecks {
    service: String,
    stores: Arc<Stores>,
}

/// The stores checked, and the check under way.
struct Stores {
    db: Pool,
    redis: ConnectionManager,
    /// Each store's last check, so that a store going down and coming back is logged once each,
    /// not at every request (anyone may ask `/health`).
    db_outage: Outage,
    redis_outage: Outage,
    /// The check running now, which every caller coming meanwhile waits for; `None` between
    /// checks. Its answer is `None` until it has one.
    running: Mutex<Option<watch::Receiver<Option<Found>>>>,
}

/// What one check found: which stores answered.
#[derive(Clone, Copy)]
struct Found {
    database: bool,
    redis: bool,
}

impl HealthChecks {
    pub fn new(service: impl Into<String>, db: Pool, redis: ConnectionManager) -> Self {
        HealthChecks {
            service: service.into(),
            stores: Arc::new(Stores {
                db,
                redis,
                db_outage: Outage::new("health: database"),
                redis_outage: Outage::new("health: redis"),
                running: Mutex::new(None),
            }),
        }
    }

    /// The route, usable in any router: `.route("/health", checks.route())`.
    pub fn route<S: Clone + Send + Sync + 'static>(self) -> MethodRouter<S> {
        get(move || {
            let checks = self.clone();
            async move { checks.report().await }
        })
    }

    pub async fn report(&self) -> impl IntoResponse {
        let found = self.stores.clone().check().await;
        let ok = found.database && found.redis;
        let word = |up: bool| if up { "ok" } else { "unavailable" };
        let body = json!({
            "status": word(ok),
            "service": self.service,
            "checks": { "database": word(found.database), "redis": word(found.redis) },
        });
        let status = if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (status, Json(body))
    }
}

impl Stores {
    /// The answer of the check running now, or of a new one when none is.
    async fn check(self: Arc<Self>) -> Found {
        let mut answer = {
            let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            match &*running {
                Some(answer) => answer.clone(),
                None => {
                    let (tell, answer) = watch::channel(None);
                    *running = Some(answer.clone());
                    // A task of its own: a caller that hangs up does not end the check the others
                    // wait for.
                    tokio::spawn(self.clone().run(tell));
                    answer
                }
            }
        };
        let found = answer.wait_for(Option::is_some).await.map(|found| *found);
        // `Err`: the check's task ended without an answer (it panicked); nothing was seen to work.
        found.ok().flatten().unwrap_or(Found {
            database: false,
            redis: false,
        })
    }

    async fn run(self: Arc<Self>, tell: watch::Sender<Option<Found>>) {
        let ended = CheckEnded(self.clone());
        let (db, redis) = tokio::join!(self.check_db(), self.check_redis());
        self.db_outage.note(db.as_ref().copied());
        self.redis_outage.note(redis.as_ref().copied());
        // Callers from now on start the next check; those waiting take this one's answer.
        drop(ended);
        tell.send_replace(Some(Found {
            database: db.is_ok(),
            redis: redis.is_ok(),
        }));
    }

    async fn check_db(&self) -> Result<(), String> {
        let probe = async {
            let client = self.db.get().await.map_err(|e| e.to_string())?;
            client
                .simple_query("SELECT 1")
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        };
        tokio::time::timeout(CHECK_TIMEOUT, probe)
            .await
            .unwrap_or_else(|_| Err("timed out".into()))
    }

    async fn check_redis(&self) -> Result<(), String> {
        let mut conn = self.redis.clone();
        let probe = async move {
            crate::redis_conn::ping(&mut conn)
                .await
                .map_err(|e| e.to_string())
        };
        tokio::time::timeout(CHECK_TIMEOUT, probe)
            .await
            .unwrap_or_else(|_| Err("timed out".into()))
    }
}

/// Ends a check however its task ends, a panic included: the next caller starts a new one
/// rather than waiting for an answer that will not come.
struct CheckEnded(Arc<Stores>);

impl Drop for CheckEnded {
    fn drop(&mut self) {
        *self
            .0
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }
}
