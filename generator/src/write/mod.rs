//! Writing generated and scaffolded files: all-or-nothing commits and drift detection.

mod commit;
mod drift;
mod project_lock;

pub use commit::{
    commit, finish_interrupted, Changeset, CRASH_AFTER_ENV, FAIL_AFTER_ENV, STAGING_PREFIX,
};
pub use drift::{drift, unified_diff, Drift};
pub use project_lock::{lock_for_writing, ProjectLock};
