//! Work for this service's worker: `POST /jobs` puts an example job on this service's own queue
//! (in its own Redis) and answers its id; `GET /jobs/{id}` says what became of it. The worker
//! (`src/bin/worker.rs`) picks the job up by its name. Each job carries the id of
//! the user who asked for it, and only that user can read its status.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use stackr_kit::extract::{Json, Path};
use stackr_kit::worker::{JobOptions, JobStatus, Producer, RemoveOnFinish};
use stackr_kit::{Principal, ServiceState};

use crate::job_names;

pub fn routes() -> Router<ServiceState> {
    Router::new()
        .route("/jobs", post(enqueue))
        .route("/jobs/{id}", get(status))
}

#[derive(Deserialize)]
struct NewJob {
    message: String,
}

/// The longest message taken: every job stays in this service's Redis until it is removed, so
/// what a caller may put there is bounded (the request body alone may be 2 MB).
const MESSAGE_LIMIT_BYTES: usize = 4096;
/// How many finished jobs stay readable by `GET /jobs/{id}`: BullMQ keeps every finished job
/// unless told otherwise, and without a bound callers could fill Redis's memory.
const KEEP_COMPLETED: usize = 1000;
const KEEP_FAILED: usize = 5000;
/// The most jobs left waiting for the worker; past it a new one is refused until the worker
/// catches up. Callers enqueueing faster than the worker runs jobs, or while it is down, would
/// otherwise fill Redis's memory (here at most about 10 000 × 4 KiB).
const MAX_WAITING: u64 = 10_000;

async fn enqueue(
    who: Principal,
    State(jobs): State<Arc<Producer>>,
    Json(job): Json<NewJob>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    if job.message.len() > MESSAGE_LIMIT_BYTES {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let data = json!({ "userId": who.user_id(), "message": job.message });
    // Read before the add, so concurrent requests may pass the bound by their number: still
    // bounded.
    let waiting = jobs.waiting().await.map_err(|error| {
        tracing::error!(%error, "cannot count the waiting jobs");
        StatusCode::SERVICE_UNAVAILABLE
    })?;
    if waiting >= MAX_WAITING {
        return Err(StatusCode::SERVICE_UNAVAILABLE);
    }
    let retention = JobOptions::new()
        .remove_on_complete(RemoveOnFinish::Count(KEEP_COMPLETED))
        .remove_on_fail(RemoveOnFinish::Count(KEEP_FAILED));
    let id = jobs
        .add_with(job_names::EXAMPLE, data, retention)
        .await
        .map_err(|error| {
            tracing::error!(%error, "cannot enqueue");
            StatusCode::SERVICE_UNAVAILABLE
        })?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id }))))
}

async fn status(
    who: Principal,
    State(jobs): State<Arc<Producer>>,
    Path(id): Path<String>,
) -> Result<Json<JobStatus>, StatusCode> {
    let status = jobs.status(&id).await.map_err(|error| {
        tracing::error!(%error, "cannot read a job's status");
        StatusCode::SERVICE_UNAVAILABLE
    })?;
    // Another user's job is answered like a missing one: ids are sequential, so guessable.
    let status = status.filter(|s| s.data["userId"].as_str() == Some(who.user_id()));
    status.map(Json).ok_or(StatusCode::NOT_FOUND)
}
