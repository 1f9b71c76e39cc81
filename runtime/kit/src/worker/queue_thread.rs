//! The queue thread: bullmq-official's worker (fetching, the scripts, the stalled check), the
//! handlers and the event drain run on a thread of their own, on a single-threaded runtime, and
//! lock renewal on another (`lock_renewal.rs`). Why not on the caller's runtime: a worker
//! binary's `#[tokio::main]` is multi-threaded, and on it the queue work keeps waking one thread
//! from another, which costs more CPU than the work itself (figures in the module docs).

use std::sync::Arc;

use tokio::sync::oneshot;

use super::config::WorkerConfig;
use super::error::WorkerError;
use super::handlers::Handlers;
use super::queue_worker;
use super::runner::ShutdownReport;

/// The thread's name in errors.
const QUEUE: &str = "queue";

/// The running queue thread, seen from the runtime that started it.
pub(crate) struct QueueThread {
    pub(crate) worker: Arc<bullmq::Worker>,
    /// Sending asks for the graceful shutdown; dropping stops the thread without it.
    stop: oneshot::Sender<()>,
    /// The shutdown's outcome, sent once the thread's runtime is gone.
    stopped: oneshot::Receiver<Result<ShutdownReport, WorkerError>>,
}

/// Starts the queue thread; returns once the worker consumes the queue (or could not start).
pub(crate) async fn start(
    config: WorkerConfig,
    handlers: Handlers,
) -> Result<QueueThread, WorkerError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(queue_thread_error)?;
    let (started_tx, started) = oneshot::channel();
    let (stop, mut stop_rx) = oneshot::channel::<()>();
    let (stopped_tx, stopped) = oneshot::channel();
    std::thread::Builder::new()
        .name("stackr-worker-queue".to_string())
        .spawn(move || {
            let finished = runtime.block_on(async move {
                let starting = queue_worker::start(config, handlers);
                let queue_worker = tokio::select! {
                    started = starting => match started {
                        Ok(queue_worker) => queue_worker,
                        Err(err) => {
                            let _ = started_tx.send(Err(err));
                            return None;
                        }
                    },
                    // `stop` is dropped: whoever started the thread gave up on the start (a
                    // shutdown asked for while it waited for Redis). Consuming now would fetch
                    // jobs no one will shut down gracefully.
                    _ = &mut stop_rx => return None,
                };
                let _ = started_tx.send(Ok(queue_worker.worker.clone()));
                // An error means the worker was dropped without shutdown: dropping the runtime
                // below drops the jobs in flight (and aborts their handlers); their locks
                // expire and the stalled check of a live worker takes them back.
                (&mut stop_rx).await.ok()?;
                Some(queue_worker.shutdown().await)
            });
            // Gone before the answer, so nothing of the queue thread outlives the shutdown.
            drop(runtime);
            if let Some(result) = finished {
                let _ = stopped_tx.send(result);
            }
        })
        .map_err(queue_thread_error)?;
    let worker = started
        .await
        .map_err(|_| WorkerError::ThreadDied { thread: QUEUE })??;
    Ok(QueueThread {
        worker,
        stop,
        stopped,
    })
}

impl QueueThread {
    /// The graceful shutdown (see [`super::RunningWorker::shutdown`]), run on the queue thread.
    pub(crate) async fn shutdown(self) -> Result<ShutdownReport, WorkerError> {
        let _ = self.stop.send(());
        self.stopped
            .await
            .map_err(|_| WorkerError::ThreadDied { thread: QUEUE })?
    }
}

fn queue_thread_error(source: std::io::Error) -> WorkerError {
    WorkerError::Thread {
        thread: QUEUE,
        source,
    }
}
