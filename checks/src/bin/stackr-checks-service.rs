//! The fixture stack's base-service API: a stackr-kit service like a scaffolded one, whose guard
//! flavor and roles come from the command line (`--flavor role-gated --roles finance`) because the
//! harness runs one binary for every base service of the fixture, each with the flavor the
//! generator's plan gives it. The environment is the plan's, untouched by this binary.
//!
//! Routes besides the kit's `/health`:
//! - `GET /me`: the guarded identity, `{"service":…, "userId":…}`;
//! - `POST /jobs`: guarded; enqueues a job on this service's own queue, `{"service":…, "jobId":…}`.

use std::sync::Arc;

use anyhow::{bail, Context};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use stackr_kit::runtime::ServiceSpec;
use stackr_kit::worker::Producer;
use stackr_kit::{Authenticated, Flavor, ServiceRuntime};

/// The service's name, read once from `STACKR_SERVICE` (the kit validates it).
#[derive(Clone)]
struct ServiceName(Arc<str>);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    stackr_kit::telemetry::init();
    let (flavor, roles) = parse_args(std::env::args().skip(1))?;
    // ServiceSpec holds 'static slices because scaffolds write them as literals; leaking the few
    // strings of one process's lifetime is the same thing.
    let roles: &'static [&'static str] = Box::leak(
        roles.into_iter().map(|r| &*Box::leak(r.into_boxed_str())).collect::<Vec<&'static str>>().into_boxed_slice(),
    );
    // Provisioning as the scaffold decides it: flexible services provision on the first call.
    let spec = ServiceSpec { flavor, roles, provisioning: flavor == Flavor::Flexible, migrations: &[] };
    let runtime = ServiceRuntime::from_env(spec).await?;
    let name = ServiceName(runtime.env.service.service.clone().into());
    let producer = Arc::new(Producer::from_env().context("queue configuration")?);
    let app = Router::new()
        .route("/me", get(me))
        .route("/jobs", post(enqueue))
        .layer(Extension(name))
        .layer(Extension(producer));
    runtime.serve(app).await
}

async fn me(Extension(name): Extension<ServiceName>, auth: Authenticated) -> Json<Value> {
    Json(json!({ "service": &*name.0, "userId": auth.user().id }))
}

async fn enqueue(
    Extension(name): Extension<ServiceName>,
    Extension(producer): Extension<Arc<Producer>>,
    auth: Authenticated,
) -> Result<Json<Value>, (axum::http::StatusCode, String)> {
    let job_id = producer
        .add("checks-probe", json!({ "userId": auth.user().id }))
        .await
        .map_err(|e| (axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok(Json(json!({ "service": &*name.0, "jobId": job_id })))
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<(Flavor, Vec<String>)> {
    let mut flavor = None;
    let mut roles = Vec::new();
    while let Some(arg) = args.next() {
        let value = args.next().with_context(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--flavor" => flavor = Some(value.parse::<Flavor>().map_err(anyhow::Error::msg)?),
            "--roles" => roles = value.split(',').filter(|r| !r.is_empty()).map(str::to_owned).collect(),
            other => bail!("unknown argument {other} (expected --flavor <flavor> [--roles a,b])"),
        }
    }
    Ok((flavor.context("--flavor is required")?, roles))
}
