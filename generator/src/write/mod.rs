//! Writing generated and scaffolded files: all-or-nothing commits and drift detection.

mod commit;
mod drift;
mod file_state;
mod folders_on_the_way;
mod project_lock;
mod roll_forward;
mod staging_targets;

pub use commit::{commit, Changeset, CRASH_AFTER_ENV, FAIL_AFTER_ENV, STAGING_PREFIX};
pub(crate) use drift::holds_exactly;
pub use drift::{drift, unified_diff, Drift};
pub use file_state::FileState;
pub use folders_on_the_way::linked_folder;
pub use project_lock::{lock_for_writing, ProjectLock};
pub use roll_forward::{finish_interrupted, left_unfinished};
