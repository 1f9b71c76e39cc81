//! The BullMQ-compatible worker and producer of a stackr base service.
//!
//! Built on [`bullmq-official`](https://crates.io/crates/bullmq-official) `=1.4.4`, the
//! maintained Rust port that runs BullMQ's own Lua scripts. Its 64 scripts are byte-identical to
//! those of Node **bullmq 6.5.1**, the version the interop tests pin
//! (`runtime/kit/interop/bullmq/`). Jobs are therefore readable and writable by Node BullMQ,
//! its `QueueEvents`, and the usual dashboards.
//!
//! # The worker binary
//!
//! A scaffolded `<service>-worker` binary is only this:
//!
//! ```no_run
//! use stackr_kit::worker::{run_from_env, Allocator, Handlers, Job, JobError};
//!
//! #[global_allocator]
//! static ALLOCATOR: Allocator = Allocator;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let handlers = Handlers::new().on("welcome", |job: Job| async move {
//!         let user_id = job.data()["userId"].as_str().unwrap_or_default().to_owned();
//!         // … send the mail …
//!         Ok::<_, JobError>(serde_json::json!({ "welcomed": user_id }))
//!     });
//!     run_from_env(handlers).await?;
//!     Ok(())
//! }
//! ```
//!
//! [`run_from_env`] reads the environment, installs the API's `tracing` subscriber
//! ([`crate::telemetry::init`], unless one is installed already), consumes the queue until
//! SIGTERM or ctrl-c, then shuts down gracefully. It returns an error (never panics) when the configuration is wrong or the
//! Redis cannot be reached at start-up; the message names the variable to fix.
//!
//! # Environment
//!
//! | variable | required | default | meaning |
//! |---|---|---|---|
//! | `REDIS_URL` | yes | | the service's own Redis, no password in it |
//! | `REDIS_PASSWORD_FILE` | no | | file holding the Redis password (`requirepass`), merged into the URL |
//! | `STACKR_QUEUE` | yes | | queue name, set by the generator's plan (the service name) |
//! | `STACKR_QUEUE_PREFIX` | no | `bull` | BullMQ key prefix: keys are `<prefix>:<queue>:…` |
//! | `WORKER_CONCURRENCY` | no | `10` | jobs processed at once (worker only) |
//! | `STACKR_SERVICE` | no | | recorded as the worker name `<service>-worker` (`processedBy`) |
//! | `WORKER_LOCK_DURATION_MS` | no | `30000` | job lock lifetime; renewed every half of it |
//! | `WORKER_STALLED_INTERVAL_MS` | no | `30000` | period of the stalled-job check |
//! | `WORKER_MAX_STALLED_COUNT` | no | `1` | stalls tolerated before a job is failed |
//! | `WORKER_SHUTDOWN_GRACE_MS` | no | `10000` | time in-flight jobs get to finish on shutdown |
//!
//! The first five are pinned by docs/runtime-contract.md; the `WORKER_*_MS` knobs are this
//! module's own and have BullMQ's defaults. The producer reads only the first four.
//!
//! # Semantics (all provided by BullMQ's scripts through bullmq-official, verified by tests)
//!
//! - **Handlers by job name** ([`Handlers::on`]). A job whose name has no handler fails at once,
//!   without retries, with `failedReason` = `no handler for job name "x" on queue "core"; this
//!   worker handles: a, b`.
//! - **Retries with backoff**: a handler's error is retried while the job has `attempts` left,
//!   after its `backoff` (fixed or exponential, as in Node). `?` on any error gives a retryable
//!   failure; [`JobError::fatal`] fails the job at once. Every failed attempt records
//!   `failedReason` and appends to `stacktrace` like Node does; `attemptsMade` counts attempts.
//!   A handler that panics is a failed (retryable) attempt.
//! - **Delayed jobs**: `JobOptions::delay`; they run when due (the worker wakes up for them).
//! - **Locks**: each running job holds a lock renewed every `lock_duration / 2`, by a thread
//!   that runs nothing else (`lock_renewal.rs`), until Redis has run its completion
//!   (`active_locks.rs`).
//! - **Where handlers run**: on the worker's queue thread, with the fetching and BullMQ's
//!   scripts, on a single-threaded runtime (`queue_thread.rs`), like a Node worker's event loop.
//!   A handler that blocks its thread (`std::thread::sleep`, a synchronous client) delays the
//!   other jobs and the fetching, not lock renewal; a job fetched before the block, whose lock
//!   may have expired while it waited, has its lock checked before it runs and is left to the
//!   stalled check if it lost it (`late_start.rs`); a job whose handler returned just before
//!   the block sends its completion after it, its lock renewed meanwhile. Blocking or CPU-heavy
//!   work belongs in [`Job::blocking`] (tokio's blocking threads, as on any async runtime).
//! - **Stalled jobs**: a job whose worker died (lock expired) is moved back to wait by the
//!   stalled check of any live worker of the queue and runs again; after
//!   `WORKER_MAX_STALLED_COUNT` stalls it fails with "job stalled more than allowable limit".
//!   Delivery is therefore *at least once*: handlers must be idempotent for the rare job that
//!   was interrupted after its side effect but before it was marked completed.
//! - **Graceful shutdown**: on SIGTERM/ctrl-c no new job is fetched; in-flight jobs get
//!   `WORKER_SHUTDOWN_GRACE_MS` to finish; those still running are then handed back to the queue
//!   (moved to the front of wait, no attempt counted, but counted as a stall, as Node shows a job
//!   its worker was killed during: handed back more than `WORKER_MAX_STALLED_COUNT` times, a job
//!   fails with "job stalled more than allowable limit" instead of returning at every restart,
//!   `hand_back_stall.rs`) and their handler futures are dropped,
//!   except a job in [`Job::blocking`] work, which cannot be stopped: it is left to finish and
//!   complete here. Work a handler started with a bare `tokio::task::spawn_blocking` goes on
//!   after its job is handed back, while another worker runs the job. With Redis gone, the
//!   worker still stops a few seconds after the grace period (or after the blocking work): the
//!   jobs it could not hand back stay active until a worker's stalled check moves them back.
//!   A stop asked for while the worker still waits for its Redis at start-up ends that wait:
//!   [`run`] returns `Ok` at once, nothing consumed.
//!
//! # Producer
//!
//! The API process enqueues with [`Producer`] on the same queue (its own Redis):
//!
//! ```no_run
//! # async fn demo() -> Result<(), stackr_kit::worker::WorkerError> {
//! let producer = stackr_kit::worker::Producer::from_env()?;
//! producer.add("welcome", serde_json::json!({ "userId": "u_1" })).await?;
//! # Ok(()) }
//! ```
//!
//! # What bullmq-official 1.4.4 does differently, and what this module does about it
//!
//! - It writes no `failedReason`/`stacktrace` for an attempt that will be retried (Node does,
//!   via `fieldsToUpdate`). This module records both itself, under the same lock check
//!   (`failure_fields.rs`), each stack entry shaped like Node's `err.stack` with the frames of
//!   the Rust stack where the [`JobError`] was made (`node_stack.rs`);
//!   `tests/it/worker_node_parity.rs` compares the result with Node's.
//! - Its `Job::log` reads the log limit from `keepLogs`, where Node stores `kl`: [`Job::log`]
//!   appends and trims itself (`job_log.rs`).
//! - Its `Queue` records `library` in the queue's meta hash, where Node's records `version`;
//!   [`Producer`] writes Node's field (`bullmq:` + [`NODE_BULLMQ_VERSION`]).
//! - It reads a job's options into integer, boolean and string fields and, when one does not
//!   fit (Node's worker reads values as JavaScript does: `backoff: {type: 'fixed', delay:
//!   100.5}`, `attempts: "2"`, `lifo: 1`), runs the job with default options: one attempt,
//!   retries lost. This module rewrites such values to ones that behave as Node does and hands
//!   the job back before running it; options that stay unreadable fail the job with a reason
//!   naming the option, and so does a failed attempt whose retry would need a backoff type it has
//!   no strategy for (`node_options/`, tested against Node's worker in
//!   `tests/it/worker_option_matrix.rs`). A parent that a failed child fails
//!   (`failParentOnFailure`) is failed by bullmq-official when fetched, before that check: a
//!   child failing for good on this worker repairs its parent's options first; one failed on a
//!   Node worker leaves them to bullmq-official, which fails the parent with default options
//!   (its `removeOnFail` unheeded) when one of them does not fit.
//! - It reads a job's `data` that is missing, empty or not JSON as `null`, and the handler would
//!   run with data its producer never gave it. Node's worker reads a missing or empty one as
//!   `{}`, and never runs a job whose data is not JSON (it cannot read the job, which stays
//!   active until stalled checks fail it). This module gives the handler `{}` for the first and
//!   fails the second at once, without retries, with `failedReason` "the job's data is not
//!   JSON: …" (`stored_data.rs`, one read for jobs read as `null` only). Data nested deeper
//!   than 128 levels of arrays and objects, which Node reads, is read as `null` too (serde_json's
//!   limit): such a job fails the same way, with a reason that says so.
//! - It ignores a backoff's `jitter` and always waits the full delay, where Node waits a random
//!   delay in `[delay × (1 − jitter), delay)`: retries come as often as Node's, each up to
//!   `jitter` later. Not worked around (the delay is computed inside bullmq-official).
//! - Its worker events go to an unbounded channel; this module drains it (and logs failures
//!   and stalls; bullmq-official logs its errors itself), otherwise memory would grow by two
//!   events per job.
//! - On its default (RESP2) connection, the first command after a Redis restart fails,
//!   whatever it is: the completion of a job in flight (the job runs again once its lock
//!   expires), or a job handed back at shutdown (left active until a stalled check takes it
//!   back), where Node's worker goes on. This module gives it a RESP3 connection, as every
//!   connection of the kit (`crate::redis_conn`, `with_resp3`).
//! - It waits 15 s after a failed fetch before the next one, so a Redis restart, which fails
//!   one fetch, stopped it for 15 s. This module sets that wait to 1 s (`queue_worker.rs`); its
//!   own reads and writes of a job (the options check, a scheduler's next iteration,
//!   [`Job::log`]) are made again once Redis is back, within start-up's wait
//!   (`redis_retry.rs`).
//! - Its stalled check first runs one `stalled_interval` after start; Node runs one at start,
//!   and so does this module, with bullmq-official's own checker (`first_stalled_check.rs`).
//! - Its lock renewal runs as a task beside the handlers, so a handler blocking the thread
//!   stops it. This module turns it off and renews on a thread of its own, with a script that
//!   does what `extendLock` does without reading the job first (a job whose hash holds bytes
//!   that are not UTF-8 could not be read, and lost its lock while it ran: `lock_renewal.rs`).
//!   A lost lock is only logged, as bullmq-official
//!   does: the handler keeps running, and the job's later completion is refused by the scripts
//!   (the stalled check has already re-queued it).
//! - It gives a job scheduler's next iteration only some of the template's options; this
//!   module puts back the others before the iteration runs (`scheduler_template.rs`).
//! - It adds a job scheduler's next iteration after the current one's handler has finished,
//!   from its own reading of the job's options, where Node's worker adds it when it fetches the
//!   current one, from the options as JavaScript reads them. This module adds it at fetch, as
//!   Node's worker does, with a script of its own (`next_iteration.rs`): a handler slower than
//!   `every` does not slow the schedule, a cron scheduler stops at its `endDate`, a pattern
//!   without `tz` is read in the machine's time zone, and a template option bullmq-official
//!   cannot read (`attempts: "2"`) neither stops the scheduler nor lets it pass its `limit`.
//!   bullmq-official's own call then finds the scheduler moved on and adds nothing. Where they
//!   still differ (`tests/it/worker_job_schedulers.rs` compares both workers):
//!   - a scheduler that ends where bullmq-official would add one more iteration (a cron
//!     iteration past `endDate`, or after an iteration whose options it could not read) is
//!     removed, as `removeJobScheduler` removes it; Node's worker keeps listing an ended
//!     scheduler, and one upserted again goes on from its iteration count and `every` slots,
//!     where a removed one starts afresh;
//!   - a pattern or zone that Node reads and bullmq-official does not (a step from a start,
//!     `0/2 * * * * *`; `tz: "utc"`, `"asia/kolkata"`, `"UTC+5"`): this module adds the next
//!     iteration, and bullmq-official logs for each one that it failed to;
//!   - on a day the clocks change, a cron time inside the skipped or repeated hour falls where
//!     croner puts it, not where Node's cron-parser does (`0 30 2 * * *` in New York on the
//!     spring-forward day: 03:00 here, 03:30 on Node);
//!   - repeat options that are not numbers where Node's worker counts with them
//!     (`limit: "3"`) are left to bullmq-official: the next iteration from its own reading,
//!     after the handler;
//!   - bullmq-official fails some jobs as it fetches them, before this module sees them
//!     (stalled more than `maxStalledCount`, started more than `maxStartedAttempts`): an
//!     iteration none of whose earlier fetches reached this module (its worker killed between
//!     fetch and handler each time) gets no next one, and the scheduler stops there, where
//!     Node's worker adds it.
//! - It retries a failed `lifo` job without a backoff delay at the back of the wait list, where
//!   Node retries it at the front: only the order of jobs changes. Not worked around (the push
//!   is chosen inside bullmq-official).
//! - It does not look at Redis's `maxmemory-policy`, where Node's Queue and Worker warn unless it
//!   is `noeviction` (under any other, a Redis short of memory evicts jobs and locks): the
//!   [`Producer`]'s connection, which a worker makes too, warns (`eviction_policy.rs`).
//! - It clones each Lua script's source (40 KB for `moveToFinished`) per call: a cost worth an
//!   upstream fix, not worth forking for. The worker binary's allocator, [`Allocator`], makes it
//!   cheap (see "Throughput").
//!
//! # Throughput
//!
//! `cargo bench -p stackr-kit --bench worker_throughput` measures this worker and Node
//! BullMQ 6.5.1's `Worker` on one redis-server, at concurrency 1 and 100, on the same pre-filled
//! queue (jobs stored as Node's `Queue.addBulk` and [`Producer::add_bulk`] store them), next to
//! the bound: the most any client of BullMQ's scripts can get from that Redis.
//!
//! - At concurrency 1 the bound is a floor measured in the same run: the scripts run back to
//!   back by no worker at all (one blocking socket, one `moveToFinished`-with-fetch-next round
//!   trip per job, no handler work).
//! - Above 1 it is 1e6 over the µs Redis spends inside those scripts per job (INFO
//!   commandstats), since Redis runs one script at a time. The floor, pipelining the calls of
//!   all its jobs in flight, shows how close any client gets to it; the rest of the gap is
//!   Redis reading and writing sockets.
//!
//! The target is at least 90% of the bound with at most half of Node's worker-process CPU per
//! job, at both concurrencies. The bench prints one table with the bound, both workers' rate,
//! share of the bound and CPU per job, the CPU ratio, whether the target is met, and the load
//! average. Per job this worker makes the same single round trip as Node's; jobs whose stored
//! options lack `attempts` (written by producers other than Node's `Queue` and [`Producer`])
//! cost one more, an `HGET` of their options (`node_options/`), and a job scheduler's iterations
//! two, a pipelined read of the job and its scheduler (`scheduler_template.rs`) and the script
//! that adds the next iteration (`next_iteration.rs`). On a
//! busy shared machine the jobs/s figures swing between runs; read several.
//!
//! Where this worker's CPU goes: in a `perf` profile of the bench, this module's own code
//! (dispatch by name, panic catching, the hand-back watch) is about 5% of the worker threads'
//! user time; the rest is bullmq-official (job parsing, the per-call script clone) and redis-rs.
//! On a worker binary's multi-threaded runtime a larger cost came on top: the fetch loop, the
//! redis-rs connection task and each job's task handing work from one thread to another. Hence
//! the queue thread: fetching, scripts and handlers on one single-threaded runtime, lock renewal
//! on a thread of its own. In runs of the bench taken one after the other on the shared 2-core
//! machine (load 3 to 6), ours / Node's CPU per job went, at concurrency 1 and 100, from medians
//! of 0.45 and 0.49 (everything on the binary's multi-threaded runtime) to 0.47 and 0.40 (the
//! queue thread); the spread between runs is ±0.1 (the quietest pair, at load 1.4: 0.56 and
//! 0.58 before, 0.52 and 0.36 after). At concurrency 1 the worker waits on one round trip per
//! job, and the thread wake-ups it saves are few. Running only the queue work there and each
//! handler as a task of the binary's runtime (one hop there and one back per job) measured 0.56
//! to 0.68 and 0.44 to 0.64: more than it saved, so handlers share the queue thread, as they
//! share a Node worker's event loop.
//!
//! The allocator: on glibc's, `malloc`, `free` and `memmove` (the script copies, the job's hash,
//! the replies) were a third of the queue thread's user time in that profile. On mimalloc
//! ([`Allocator`]), in two rounds of the bench alternating with the same build on glibc's, our
//! CPU per job at concurrency 1 was 7.5 and 7.0 µs above the async floor's of the same run,
//! against 19.0 on glibc's (and 58 in a round the machine disturbed). Its `no_thp` build keeps
//! its arenas off transparent huge pages: with them, an idle worker held 16 MB more.
//!
//! What is left above the async floor at concurrency 1, in a profile of the queue thread
//! against the async floor's thread in the same run (on mimalloc; under `perf`, whose sampling
//! adds its own cost: the bench alone, measuring the whole process, puts the gap at 7 µs per
//! job): about 10 µs per job of user time and 4 of kernel time. The kernel part is waking Redis, which sleeps again while the
//! worker handles a reply (the floor sends its next call at once); the syscalls per job are the
//! same, one write, one `epoll_wait`, one read. Of the user part, 2.2 µs is bullmq-official
//! copying the 40 KB `moveToFinished` source on every call and about 1 more allocating and
//! freeing that copy, 1.4 µs the SipHash map of each job's fields, and most of the rest its
//! channels and semaphores; this module's own code is under 1 µs.
//!
//! # Embedding and tests
//!
//! [`start`] returns a [`RunningWorker`] whose [`RunningWorker::shutdown`] performs the
//! graceful shutdown; [`run`] takes any future as the shutdown trigger.

/// Now, in ms since the Unix epoch: the clock of BullMQ's scripts and stored times.
fn epoch_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| u64::try_from(now.as_millis()).unwrap_or(u64::MAX))
}

mod active_locks;
mod catch_panic;
mod config;
mod connection;
mod error;
mod eviction_policy;
mod failure_fields;
mod first_stalled_check;
mod hand_back_stall;
mod handlers;
mod job;
mod job_log;
mod job_status;
mod late_start;
mod lock_renewal;
mod next_iteration;
mod node_options;
mod node_stack;
mod processor;
mod producer;
mod queue_thread;
mod queue_worker;
mod redis_retry;
mod reserved_job_ids;
mod runner;
mod scheduler_template;
mod stored_data;

/// The Node bullmq release whose Lua scripts bullmq-official embeds byte for byte, and so the
/// release this worker and producer behave as on the wire (`tests/it/worker_scripts_pinned.rs`
/// checks it against the release `interop/bullmq` pins).
pub const NODE_BULLMQ_VERSION: &str = "6.5.1";

pub use config::{QueueConfig, WorkerConfig, DEFAULT_CONCURRENCY, DEFAULT_PREFIX};
pub use error::{ConfigError, JobError, WorkerError};
pub use handlers::Handlers;
pub use job::Job;
pub use job_status::JobStatus;
pub use producer::Producer;
pub use runner::{run, run_from_env, shutdown_signal, start, RunningWorker, ShutdownReport};

/// Retry backoff: `Fixed(ms)` or `Exponential(base_ms)` (Node's `{type, delay}`).
pub use bullmq::types::BackoffStrategy as Backoff;
/// Retention of finished jobs (`removeOnComplete` / `removeOnFail`).
pub use bullmq::types::RemoveOnFinish;
/// BullMQ job options (`attempts`, `backoff`, `delay`, `priority`, `job_id`, retention…).
pub use bullmq::JobOptions;
/// A job's state, as [`JobStatus`] reports it.
pub use bullmq::JobState;
/// The allocator a worker binary runs on, mimalloc:
/// `#[global_allocator] static ALLOCATOR: Allocator = Allocator;` in its `main.rs`, as the
/// scaffolded `<service>-worker` has. Each job allocates, copies and frees buffers of tens of
/// KB, which glibc's allocator serves slowly (figures under "Throughput" in the module docs).
pub use mimalloc::MiMalloc as Allocator;
