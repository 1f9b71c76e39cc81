//! `GET /health`: 200 when the service's own PostgreSQL and Redis answer, 503 naming what does
//! not. Details go to the log, not to the (public) response.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, MethodRouter};
use axum::Json;
use deadpool_postgres::Pool;
use redis::aio::ConnectionManager;
use serde_json::json;

use crate::outage::Outage;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct HealthChecks {
    service: String,
    db: Pool,
    redis: ConnectionManager,
    /// Each store's last check, so that a store going down and coming back is logged once each,
    /// not at every request (anyone may ask `/health`).
    db_outage: Arc<Outage>,
    redis_outage: Arc<Outage>,
}

impl HealthChecks {
    pub fn new(service: impl Into<String>, db: Pool, redis: ConnectionManager) -> Self {
        HealthChecks {
            service: service.into(),
            db,
            redis,
            db_outage: Arc::new(Outage::new("health: database")),
            redis_outage: Arc::new(Outage::new("health: redis")),
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
        self.db_outage.note(db.as_ref().copied());
        self.redis_outage.note(redis.as_ref().copied());
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
