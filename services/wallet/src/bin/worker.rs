//! Worker of service `wallet` (`wallet-worker`): consumes this service's BullMQ queue
//! (`STACKR_QUEUE`) from its own Redis until SIGTERM. Add a handler per job name. Handlers share
//! the worker's queue thread: blocking or CPU-heavy work goes in `job.blocking(...)`. A handler
//! that writes to the service's own database gets it from `main`:
//! `let db = stackr_kit::db::connect_from_env("worker").await?;`, a clone moved into the handler.

use stackr_kit::worker::{run_from_env, Handlers, Job, JobError};

// One list of job names for the API and the worker, two binaries of this crate.
#[path = "../job_names.rs"]
mod job_names;

// The worker's allocator: faster than the system's on the job loop's buffers
// (`stackr_kit::worker::Allocator`).
#[global_allocator]
static ALLOCATOR: stackr_kit::worker::Allocator = stackr_kit::worker::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let handlers = Handlers::new().on(job_names::EXAMPLE, |job: Job| async move {
        tracing::info!(job = job.name(), id = job.id(), "processing");
        let message = job.data()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        // What a handler returns is stored as the job's result (`GET /jobs/{id}` shows it).
        Ok::<_, JobError>(serde_json::json!({ "echo": message }))
    });
    run_from_env(handlers).await?;
    Ok(())
}
