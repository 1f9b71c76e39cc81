//! Starting the worker, running it until a shutdown trigger, and shutting it down gracefully.

use std::future::Future;

use tracing::info;

use super::config::WorkerConfig;
use super::error::WorkerError;
use super::handlers::Handlers;
use super::queue_thread::{self, QueueThread};

/// A started worker: its queue work and handlers run on a thread of its own. Dropping it without
/// [`RunningWorker::shutdown`] stops that thread, dropping the handlers in flight, and leaves
/// their jobs to the stalled check (they are not lost, only delayed by up to lock duration +
/// stalled interval).
pub struct RunningWorker {
    queue_thread: QueueThread,
    config: WorkerConfig,
}

/// What happened to the jobs that were running when shutdown began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Jobs in flight when shutdown began.
    pub in_flight: usize,
    /// Whether a job was handed back to the queue because the grace period ran out (a job in
    /// [`Job::blocking`](super::Job::blocking) work then is left to finish instead).
    pub handed_back: bool,
}

/// Starts consuming the configured queue with `handlers`, on a thread of the worker's own.
pub async fn start(config: WorkerConfig, handlers: Handlers) -> Result<RunningWorker, WorkerError> {
    let queue_thread = queue_thread::start(config.clone(), handlers).await?;
    Ok(RunningWorker {
        queue_thread,
        config,
    })
}

impl RunningWorker {
    /// Jobs being processed right now.
    pub async fn in_flight(&self) -> usize {
        self.queue_thread.worker.active_count().await
    }

    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// Stops fetching, lets in-flight jobs finish for `shutdown_grace`, then hands the ones still
    /// running back to the queue (they run again, first, on the next worker; no attempt is
    /// counted), except those in [`Job::blocking`](super::Job::blocking) work, which are left to
    /// finish. Returns once every in-flight job is finished or handed back.
    pub async fn shutdown(self) -> Result<ShutdownReport, WorkerError> {
        self.queue_thread.shutdown().await
    }
}

/// Runs until `shutdown` resolves, then shuts down gracefully. A `shutdown` that resolves while
/// the worker is still starting (waiting up to [`crate::STARTUP_WAIT`] for its Redis) ends the
/// start there: a stop must not sit out that wait, nor start consuming once Redis comes up.
pub async fn run(
    config: WorkerConfig,
    handlers: Handlers,
    shutdown: impl Future<Output = ()>,
) -> Result<(), WorkerError> {
    let mut shutdown = std::pin::pin!(shutdown);
    let worker = tokio::select! {
        started = start(config, handlers) => started?,
        () = &mut shutdown => {
            // Dropping the start ends the queue thread's start (`queue_thread.rs`). A job
            // fetched in the instant between the worker's start and this drop is dropped with
            // that thread, its lock left to expire: a stalled check takes it back, as after a
            // crash.
            info!("worker stopped before it started consuming");
            return Ok(());
        }
    };
    crate::server::notify_ready();
    shutdown.await;
    worker.shutdown().await.map(|_| ())
}

/// The entry point of a scaffolded `<service>-worker` binary: configuration from the
/// environment, stop on SIGTERM or ctrl-c. See the module docs.
pub async fn run_from_env(handlers: Handlers) -> Result<(), WorkerError> {
    // The API's logging (a no-op when a scaffold already installed a subscriber).
    crate::telemetry::init();
    let config = WorkerConfig::from_env()?;
    let signal = shutdown_signal()?;
    run(config, handlers, signal).await
}

/// Resolves on SIGTERM (systemd, process-compose) or SIGINT (ctrl-c).
pub fn shutdown_signal() -> Result<impl Future<Output = ()>, WorkerError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(WorkerError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(WorkerError::Signal)?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => info!("SIGTERM received"),
            _ = int.recv() => info!("SIGINT received"),
        }
    })
}
