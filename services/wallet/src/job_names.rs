//! The names of this service's jobs: the API enqueues them, the worker handles them by name.

/// The job `POST /jobs` enqueues; the worker answers it with the job's message.
pub const EXAMPLE: &str = "example";
