//! The fixture stack's base-service API: the generated scaffold's `main.rs` (stackr-kit's
//! `ServiceRuntime`, `/health`, `/me`), with the scaffold's `SPEC` taken from the command line
//! (`--flavor role-gated --roles finance --provisioning true`) because the harness runs this one
//! binary for every base service of the fixture, each with the spec its scaffold renders
//! (see `stackr_checks::scaffold_spec`). The environment is the plan's, untouched.
//!
//! Routes:
//! - `/health` (the kit's);
//! - `GET /me`: as the scaffold, `{"user": …}` (flexible: a user or a device session);
//! - `POST /jobs`: guarded; enqueues a job on this service's own queue, `{"jobId": …}` (the
//!   checks' addition: the isolation check needs a service to produce a job).

use std::sync::Arc;

use anyhow::{bail, Context};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use stackr_kit::runtime::ServiceSpec;
use stackr_kit::worker::Producer;
use stackr_kit::{identity_routes, Authenticated, Flavor, ServiceRuntime};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    stackr_kit::telemetry::init();
    let spec = spec_from_args(std::env::args().skip(1))?;
    let runtime = ServiceRuntime::from_env(spec).await?;
    let producer = Arc::new(Producer::from_env().context("queue configuration")?);
    let router = Router::new()
        .route("/jobs", post(enqueue))
        .layer(Extension(producer))
        .merge(identity_routes(spec.flavor));
    runtime.serve(router).await
}

async fn enqueue(
    Extension(producer): Extension<Arc<Producer>>,
    user: Authenticated,
) -> Result<Json<Value>, (StatusCode, String)> {
    let job_id = producer
        .add("checks-probe", json!({ "userId": user.user().id }))
        .await
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok(Json(json!({ "jobId": job_id })))
}

fn spec_from_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<ServiceSpec> {
    let (mut flavor, mut roles, mut provisioning) = (None, Vec::new(), None);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--flavor" => flavor = Some(value.parse::<Flavor>().map_err(anyhow::Error::msg)?),
            "--roles" => {
                roles = value
                    .split(',')
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "--provisioning" => {
                provisioning = Some(value.parse::<bool>().context("--provisioning true|false")?);
            }
            other => bail!("unknown argument {other} (expected --flavor, --roles, --provisioning)"),
        }
    }
    // ServiceSpec holds 'static slices because scaffolds write them as literals; leaking the few
    // strings of one process's lifetime amounts to the same.
    let roles: Vec<&'static str> = roles
        .into_iter()
        .map(|r| &*Box::leak(r.into_boxed_str()))
        .collect();
    Ok(ServiceSpec {
        flavor: flavor.context("--flavor is required")?,
        roles: Box::leak(roles.into_boxed_slice()),
        provisioning: provisioning.context("--provisioning is required")?,
        migrations: &[],
    })
}
