//! `GET /health`: 200 when the service's own PostgreSQL and Redis answer, 503 naming what does
//! not. Details go to the log, not to the (public) response.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, MethodRouter};
use axum::Json;
use deadpool_postgres::Pool;
use redis::aio::ConnectionManager;
use serde_json::json;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct HealthChecks {
    service: String,
    db: Pool,
    redis: ConnectionManager,
    /// Whether the last check found each store down, so that a store going down and coming back
    /// is logged once each, not at every request (anyone may ask `/health`).
    db_down: Arc<AtomicBool>,
    redis_down: Arc<AtomicBool>,
}

impl HealthChecks {
    pub fn new(service: impl Into<String>, db: Pool, redis: ConnectionManager) -> Self {
        HealthChecks {
            service: service.into(),
            db,
            redis,
            db_down: Arc::default(),
            redis_down: Arc::default(),
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
        let (db, redis) = tokio::join!(self.check_db(), self.check_redis());
        let status = if db.is_ok() && redis.is_ok() {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        let word = |r: &Result<(), String>| if r.is_ok() { "ok" } else { "unavailable" };
        log_change("database", &db, &self.db_down);
        log_change("redis", &redis, &self.redis_down);
        let body = json!({
            "status": if status == StatusCode::OK { "ok" } else { "unavailable" },
            "service": self.service,
            "checks": { "database": word(&db), "redis": word(&redis) },
        });
        (status, Json(body))
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

/// Logs `store` going down (a warning) or coming back, once each; a check that finds it as the
/// last one did goes to the debug log.
fn log_change(store: &str, result: &Result<(), String>, was_down: &AtomicBool) {
    let is_down = result.is_err();
    let changed = was_down.swap(is_down, Ordering::Relaxed) != is_down;
    match result {
        Err(e) if changed => tracing::warn!(error = %e, "health: {store} check failed"),
        Err(e) => tracing::debug!(error = %e, "health: {store} check failed again"),
        Ok(()) if changed => tracing::info!("health: {store} is back"),
        Ok(()) => {}
    }
}
