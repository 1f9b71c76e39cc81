//! The producer the API process uses to enqueue jobs on its own service's queue.

use bullmq::JobOptions;
use serde::Serialize;
use tokio::sync::OnceCell;

use super::config::{redact_password, QueueConfig};
use super::connection;
use super::error::{ConfigError, WorkerError};
use super::eviction_policy;
use super::reserved_job_ids;
use super::NODE_BULLMQ_VERSION;

/// Enqueues jobs on the service's queue (`STACKR_QUEUE` on its own Redis).
///
/// Cheap to create; it connects on first use and keeps the connection (share it, e.g. in the
/// axum state, rather than creating one per request).
///
/// ```no_run
/// # async fn demo() -> Result<(), stackr_kit::worker::WorkerError> {
/// use stackr_kit::worker::Producer;
/// let producer = Producer::from_env()?;
/// let job_id = producer.add("welcome", serde_json::json!({ "userId": "u_1" })).await?;
/// # let _ = job_id; Ok(()) }
/// ```
pub struct Producer {
    config: QueueConfig,
    queue: OnceCell<bullmq::Queue>,
}

impl Producer {
    /// Reads `REDIS_URL`, `REDIS_PASSWORD_FILE`, `STACKR_QUEUE`, `STACKR_QUEUE_PREFIX`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::new(QueueConfig::from_env()?))
    }

    pub fn new(config: QueueConfig) -> Self {
        Producer {
            config,
            queue: OnceCell::new(),
        }
    }

    /// Connects now (optional): lets an API fail at start-up rather than on its first enqueue.
    pub async fn connect(&self) -> Result<&bullmq::Queue, WorkerError> {
        self.queue
            .get_or_try_init(|| async {
                let connect_error = |source: bullmq::Error| WorkerError::Connect {
                    url: redact_password(&self.config.redis_url),
                    source: Box::new(source),
                };
                let options = bullmq::QueueOptions::new()
                    .connection(connection::options(&self.config))
                    .prefix(self.config.prefix.clone());
                let queue = bullmq::Queue::with_options(&self.config.queue, options)
                    .await
                    .map_err(connect_error)?;
                // Node's Queue records `version: "bullmq:<release>"` in the queue's meta hash
                // (what `queue.getVersion()` reads); bullmq-official records a `library` field
                // instead. Leave what Node's Queue of the release whose scripts run here leaves.
                let meta = queue.keys().meta();
                let mut record = redis::pipe();
                record
                    .atomic()
                    .hset(&meta, "version", format!("bullmq:{NODE_BULLMQ_VERSION}"))
                    .ignore()
                    .hdel(&meta, "library")
                    .ignore();
                queue
                    .connection()
                    .pipe::<()>(&record)
                    .await
                    .map_err(connect_error)?;
                eviction_policy::warn_if_keys_may_be_evicted(&mut queue.connection().connection())
                    .await;
                Ok(queue)
            })
            .await
    }

    /// Adds a job that runs as soon as a worker is free; returns the job id.
    pub async fn add<T: Serialize>(&self, name: &str, data: T) -> Result<String, WorkerError> {
        self.add_with(name, data, JobOptions::default()).await
    }

    /// Adds a job with options: `attempts`, `backoff`, `delay`, `priority`, `job_id`,
    /// `remove_on_complete`, … (BullMQ's job options, same meaning as in Node). A `priority`
    /// above 2 097 151 is refused, as Node's `Queue.add` refuses it, and so is a `job_id` naming
    /// one of the queue's own keys (`wait`, `active`, `marker`, …), which would stop the queue,
    /// or beginning with `repeat:`, the ids of a job scheduler's iterations, or `de:`, where
    /// deduplication ids are kept: Node accepts them all.
    ///
    /// ```no_run
    /// # async fn demo(producer: stackr_kit::worker::Producer) -> Result<(), stackr_kit::worker::WorkerError> {
    /// use std::time::Duration;
    /// use stackr_kit::worker::{Backoff, JobOptions};
    /// let opts = JobOptions::new()
    ///     .attempts(5)
    ///     .backoff(Backoff::Exponential(1_000))
    ///     .delay(Duration::from_secs(60));
    /// producer.add_with("reminder", serde_json::json!({ "userId": "u_1" }), opts).await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_with<T: Serialize>(
        &self,
        name: &str,
        data: T,
        opts: JobOptions,
    ) -> Result<String, WorkerError> {
        let data = job_data(name, data)?;
        check_priority(&opts)?;
        reserved_job_ids::check(opts.job_id.as_deref())?;
        let queue = self.connect().await?;
        let job = queue.add(name, data).options(as_node_stores(opts)).await?;
        Ok(job.id().to_string())
    }

    /// Adds jobs with default options in one round trip, in order; returns their ids. The
    /// stored jobs are the same as [`Producer::add`] would store one by one.
    ///
    /// ```no_run
    /// # async fn demo(producer: stackr_kit::worker::Producer) -> Result<(), stackr_kit::worker::WorkerError> {
    /// let ids = producer
    ///     .add_bulk([("welcome", serde_json::json!({ "userId": "u_1" })), ("welcome", serde_json::json!({ "userId": "u_2" }))])
    ///     .await?;
    /// # let _ = ids; Ok(()) }
    /// ```
    pub async fn add_bulk<T: Serialize>(
        &self,
        jobs: impl IntoIterator<Item = (&str, T)>,
    ) -> Result<Vec<String>, WorkerError> {
        let mut bulk = Vec::new();
        for (name, data) in jobs {
            bulk.push(bullmq::BulkJob::with_options(
                name,
                job_data(name, data)?,
                as_node_stores(JobOptions::default()),
            ));
        }
        let queue = self.connect().await?;
        let added = queue.add_bulk(bulk).await?;
        Ok(added.iter().map(|job| job.id().to_string()).collect())
    }

    /// How many jobs of the queue no worker has taken yet: waiting, paused, delayed,
    /// prioritized or waiting for their children (Node's `Queue.count`). An API that enqueues
    /// for its callers compares it with a bound before adding: jobs enqueued faster than the
    /// worker runs them, or while it is down, otherwise grow Redis's memory without end.
    pub async fn waiting(&self) -> Result<u64, WorkerError> {
        Ok(self.connect().await?.count().await?)
    }

    /// The queue this producer writes to.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// The underlying `bullmq-official` queue (bulk adds, counts, pause…).
    pub async fn queue(&self) -> Result<&bullmq::Queue, WorkerError> {
        self.connect().await
    }
}

/// A job's payload as JSON, serialized before the queue is reached so that a bad payload is
/// reported with the job's name, not as a queue error.
fn job_data<T: Serialize>(name: &str, data: T) -> Result<serde_json::Value, WorkerError> {
    serde_json::to_value(data).map_err(|source| WorkerError::Data {
        name: name.to_string(),
        source,
    })
}

/// The highest priority BullMQ orders correctly (Node's `PRIORITY_LIMIT`, 2^21 - 1).
const PRIORITY_LIMIT: u32 = (1 << 21) - 1;

/// Refuses a priority above [`PRIORITY_LIMIT`], as Node's `Queue.add` does and bullmq-official
/// does not: the scripts order prioritized jobs by `priority × 2^32 + a counter`, which above the
/// limit outgrows what a Lua number holds exactly, and jobs of one priority would no longer run
/// in the order they were added. Reported as bullmq-official reports the checks it does make.
fn check_priority(opts: &JobOptions) -> Result<(), WorkerError> {
    match opts.priority {
        Some(priority) if priority > PRIORITY_LIMIT => {
            Err(WorkerError::Queue(bullmq::Error::InvalidConfig(format!(
                "Priority should be between 0 and {PRIORITY_LIMIT}"
            ))))
        }
        _ => Ok(()),
    }
}

/// The options as Node's `Queue.add` stores them: `attempts: 0` when none is given. Node tools
/// show it, and the worker reads a missing `attempts` as options it may have failed to parse
/// (one extra round trip per job, `node_options/`).
fn as_node_stores(mut opts: JobOptions) -> JobOptions {
    opts.attempts.get_or_insert(0);
    opts
}
