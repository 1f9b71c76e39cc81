//! API of service `wallet` (`wallet-api`): `/health`, `/me`, and the routes in `domain/`.
//!
//! Everything stackr-specific is one call, `ServiceRuntime::from_env`: configuration from the
//! environment (PORT, DATABASE_URL, REDIS_URL, AUTH_URL, …), this service's own PostgreSQL and
//! Redis, the migrations below, and the auth guard of the flavor chosen in stackr.config.json.
//! Identity comes only from auth's answer to the request's cookie (or, in flavor `flexible`, from
//! a device session): never read user ids from headers or bodies. The same extractors refuse a
//! cookie-carrying POST/PUT/PATCH/DELETE from a page outside `TRUSTED_ORIGINS` (CSRF), so every
//! state-changing route that takes `Authenticated` or `Principal` is protected by default.

mod domain;
mod job_names;

use axum::Router;
use stackr_kit::runtime::ServiceSpec;
use stackr_kit::{identity_routes, Flavor, Migration, ServiceRuntime, ServiceState};

/// Chosen in stackr.config.json (`authMiddleware`, `roles`) when the service was scaffolded.
const SPEC: ServiceSpec = ServiceSpec {
    flavor: Flavor::RoleGated,
    roles: &["finance"],
    provisioning: true,
    migrations: MIGRATIONS,
};

/// This service's own tables, applied in order at start-up (after the kit's `stackr_*` tables).
/// Add a file to `migrations/` and a line here (`stackr lint` finds a file without one); never
/// edit an applied migration.
const MIGRATIONS: &[Migration] = &[Migration::new(
    "0001_init",
    include_str!("../migrations/0001_init.sql"),
)];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    stackr_kit::telemetry::init();
    let runtime = ServiceRuntime::from_env(SPEC).await?;
    runtime.serve(routes()).await
}

/// `/me` (and, in flavor `flexible`, the device-session routes) come from the kit.
fn routes() -> Router<ServiceState> {
    Router::new()
        .merge(domain::routes())
        .merge(identity_routes(SPEC.flavor))
}
