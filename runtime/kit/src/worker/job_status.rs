//! What became of a job, as the API that enqueued it can tell a client.

use serde::Serialize;
use serde_json::Value;

use super::error::WorkerError;
use super::producer::Producer;

/// A job's data, its state (`waiting`, `active`, `delayed`, `completed`, `failed`, …), the
/// attempts its handler has had and, once finished, what its handler returned or why it failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    pub id: String,
    pub name: String,
    pub state: bullmq::JobState,
    /// What the job was added with.
    pub data: Value,
    /// Attempts finished so far (BullMQ's `attemptsMade`): a job waiting for its retry after a
    /// failed attempt says so here, where its state alone reads like one never started.
    pub attempts_made: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_reason: Option<String>,
}

impl Producer {
    /// The status of job `id` of this producer's queue; `None` when there is no such job (never
    /// added, or removed by its retention options).
    pub async fn status(&self, id: &str) -> Result<Option<JobStatus>, WorkerError> {
        let queue = self.connect().await?;
        // State first: a job the worker finishes in between is then read with its result (the
        // scripts write the result and move the job in one step), never as `completed` without it.
        let state = queue.get_job_state(id).await?;
        let job = match queue.get_job(id).await {
            Ok(Some(job)) => job,
            Ok(None) => return Ok(None),
            // The id names one of the queue's own keys (`wait` is a list): no job. Callers pass
            // ids their clients chose, which must not make a server error at will.
            Err(bullmq::Error::Redis(e)) if e.code() == Some("WRONGTYPE") => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        // The worker stores the handler's answer as JSON text; an empty field means none yet.
        let return_value = Some(job.returnvalue())
            .filter(|raw| !raw.is_empty())
            .map(|raw| serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.into())));
        let failed_reason = Some(job.failed_reason())
            .filter(|reason| !reason.is_empty())
            .map(str::to_owned);
        Ok(Some(JobStatus {
            id: job.id().to_owned(),
            name: job.name().to_owned(),
            state,
            data: job.data().clone(),
            attempts_made: job.attempts_made(),
            return_value,
            failed_reason,
        }))
    }
}
