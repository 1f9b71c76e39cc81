//! One job set, two workers: our handlers doing exactly what `interop/bullmq/run_worker.js` does
//! in its `by-name` mode, so a test can run the same jobs on a Node worker and on ours and
//! compare what Node sees of both.

use std::time::Duration;

use serde_json::{json, Value};
use stackr_kit::worker::{Handlers, Job, JobError, QueueConfig};

use super::{
    eventually, fast_worker_config, node, node_add, node_command, node_inspect, queue_config,
    KillOnDrop,
};

/// `always-fails` fails every attempt ("failure on attempt <n>"), `fails-once` its first only,
/// `fatal` fails without retries ("fatal failure"), `reports` first records the progress values
/// and log lines listed in its data (`{progress: [...], logs: [...]}`), `slow` first waits `ms`
/// milliseconds (`{ms}`); every job that does not fail returns `{by: "node", name, data}`, Node's
/// echo.
pub fn by_name_handlers() -> Handlers {
    let echo = |job: Job| async move {
        Ok::<_, JobError>(json!({ "by": "node", "name": job.name(), "data": job.data() }))
    };
    Handlers::new()
        .on("always-fails", |job: Job| async move {
            Err::<Value, _>(JobError::retryable(format!(
                "failure on attempt {}",
                job.attempts_made() + 1
            )))
        })
        .on("fails-once", move |job: Job| async move {
            if job.attempts_made() == 0 {
                return Err(JobError::retryable("failure on attempt 1"));
            }
            echo(job).await
        })
        .on("fatal", |_job: Job| async move {
            Err::<Value, _>(JobError::fatal("fatal failure"))
        })
        .on("reports", move |mut job: Job| async move {
            let data = job.data().clone();
            for progress in data["progress"].as_array().into_iter().flatten() {
                job.progress(progress.clone()).await?;
            }
            for line in data["logs"].as_array().into_iter().flatten() {
                job.log(line.as_str().unwrap_or_default()).await?;
            }
            echo(job).await
        })
        .on("slow", move |job: Job| async move {
            let ms = job.data()["ms"].as_u64().unwrap_or_default();
            tokio::time::sleep(Duration::from_millis(ms)).await;
            echo(job).await
        })
        .on("welcome", echo)
}

/// Runs Node's worker in `by-name` mode until all `ids` are completed or failed for good.
pub fn run_node_worker_until_finished(queue: &QueueConfig, ids: &[String]) {
    node("run_worker.js", &["by-name", &ids.len().to_string()], queue);
}

/// The first line of each stacktrace entry ("<ErrorClass>: <message>").
pub fn first_lines(stacktrace: &Value) -> Vec<String> {
    stack_entries(stacktrace)
        .iter()
        .map(|entry| entry.lines().next().unwrap_or_default().to_string())
        .collect()
}

pub fn stack_entries(stacktrace: &Value) -> Vec<String> {
    stacktrace
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| entry.as_str().unwrap_or_default().to_string())
        .collect()
}

/// Node's view of `ids` once every job is completed, failed, or removed ("missing").
pub async fn eventually_finished_or_missing(queue: &QueueConfig, ids: &[String]) -> Vec<Value> {
    let mut last = Vec::new();
    eventually(
        Duration::from_secs(60),
        "every job completed, failed or removed",
        || {
            let seen = node_inspect(queue, ids)["jobs"].as_array().unwrap().clone();
            let done = seen.iter().all(|j| {
                ["completed", "failed", "missing"].contains(&j["state"].as_str().unwrap())
            });
            let outcome = if done {
                Ok(())
            } else {
                Err(format!("{seen:#?}"))
            };
            last = seen;
            async move { outcome }
        },
    )
    .await;
    last
}

/// Adds `jobs` (`[{name, data, opts}]`, flows with `children`: see `add_jobs.js`) with Node's
/// Queue and FlowProducer to the queues `by-node` and `by-rust` of one Redis, runs Node's
/// `by-name` worker on the first and ours with [`by_name_handlers`] on the second, and returns
/// what Node sees of each job, in the order `add_jobs.js` prints their ids: (Node's worker,
/// ours). Jobs removed on completion or failure read as state "missing".
pub async fn run_on_node_and_ours(redis_url: &str, jobs: &Value) -> (Vec<Value>, Vec<Value>) {
    let node_queue = queue_config(redis_url, "by-node");
    let node_ids = node_add(&node_queue, jobs.clone());
    // Until killed: a count of finished jobs can't tell removed or deduplicated jobs apart.
    let node_worker = KillOnDrop(
        node_command("run_worker.js", &["by-name", "0"], &node_queue)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start Node's worker"),
    );
    let by_node = eventually_finished_or_missing(&node_queue, &node_ids).await;
    drop(node_worker);

    let rust_queue = queue_config(redis_url, "by-rust");
    let rust_ids = node_add(&rust_queue, jobs.clone());
    let running = stackr_kit::worker::start(
        fast_worker_config(rust_queue.clone(), 4),
        by_name_handlers(),
    )
    .await
    .unwrap();
    let by_rust = eventually_finished_or_missing(&rust_queue, &rust_ids).await;
    running.shutdown().await.unwrap();
    (by_node, by_rust)
}
