//! Worker of service `core` (`core-worker`): consumes this service's BullMQ queue
//! (`STACKR_QUEUE`) from its own Redis until SIGTERM. Add a handler per job name.

use stackr_kit::worker::{run_from_env, Handlers, Job, JobError};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let handlers = Handlers::new().on("core", |job: Job| async move {
        tracing::info!(job = job.name(), "processing");
        Ok::<_, JobError>(serde_json::json!({ "done": true }))
    });
    run_from_env(handlers).await?;
    Ok(())
}
