//! Writing generated and scaffolded files: all-or-nothing commits and drift detection.

mod commit;
mod drift;

pub use commit::{commit, Changeset, FAIL_AFTER_ENV};
pub use drift::{drift, unified_diff, Drift};
