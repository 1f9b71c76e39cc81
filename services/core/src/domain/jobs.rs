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
use stackr_kit::redis::{self, aio::ConnectionManager};
use stackr_kit::worker::{JobOptions, JobStatus, Producer, RemoveOnFinish};
use stackr_kit::{logged_failure, Principal, ServiceState};

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
/// The most jobs one user may ask for in a minute: alone, a user could otherwise fill the bound
/// above and lock everyone else out of this route until the worker caught up.
const JOBS_PER_USER_PER_MINUTE: u64 = 60;

async fn enqueue(
    who: Principal,
    State(redis): State<ConnectionManager>,
    State(jobs): State<Arc<Producer>>,
    Json(job): Json<NewJob>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    if job.message.len() > MESSAGE_LIMIT_BYTES {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    if jobs_this_minute(redis, who.user_id()).await? > JOBS_PER_USER_PER_MINUTE {
        return Err(StatusCode::TOO_MANY_REQUESTS);
    }
    let data = json!({ "userId": who.user_id(), "message": job.message });
    // Read before the add, so concurrent requests may pass the bound by their number: still
    // bounded.
    let waiting = jobs.waiting().await.map_err(logged_failure(
        StatusCode::SERVICE_UNAVAILABLE,
        "cannot count the waiting jobs",
    ))?;
    if waiting >= MAX_WAITING {
        return Err(StatusCode::SERVICE_UNAVAILABLE);
    }
    let retention = JobOptions::new()
        .remove_on_complete(RemoveOnFinish::Count(KEEP_COMPLETED))
        .remove_on_fail(RemoveOnFinish::Count(KEEP_FAILED));
    let id = jobs
        .add_with(job_names::EXAMPLE, data, retention)
        .await
        .map_err(logged_failure(
            StatusCode::SERVICE_UNAVAILABLE,
            "cannot enqueue",
        ))?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id }))))
}

/// Counts one more job of `user_id`'s in their minute, which starts at their first job of it;
/// in the service's own Redis, so every replica of the API counts alike.
async fn jobs_this_minute(mut redis: ConnectionManager, user_id: &str) -> Result<u64, StatusCode> {
    let key = format!("jobs-per-user:{user_id}");
    let (count,): (u64,) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg(&key)
        .arg(0)
        .arg("EX")
        .arg(60)
        .arg("NX")
        .ignore()
        .incr(&key, 1)
        .query_async(&mut redis)
        .await
        .map_err(logged_failure(
            StatusCode::SERVICE_UNAVAILABLE,
            "cannot count the user's jobs",
        ))?;
    Ok(count)
}

async fn status(
    who: Principal,
    State(jobs): State<Arc<Producer>>,
    Path(id): Path<String>,
) -> Result<Json<JobStatus>, StatusCode> {
    let status = jobs.status(&id).await.map_err(logged_failure(
        StatusCode::SERVICE_UNAVAILABLE,
        "cannot read a job's status",
    ))?;
    // Another user's job is answered like a missing one: ids are sequential, so guessable.
    let status = status.filter(|s| s.data["userId"].as_str() == Some(who.user_id()));
    status.map(Json).ok_or(StatusCode::NOT_FOUND)
}
