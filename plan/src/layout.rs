//! Where the runtime crates live in a project that vendors them.

/// The stackr version whose runtime crates are embedded (every crate of the workspace shares it).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Folder of a project holding the vendored runtime crates, one sub-folder per crate.
pub const VENDORED_DIR: &str = "stackr-runtime";

/// The folders of the runtime crates below `runtime/` (and below [`VENDORED_DIR`]).
pub const AUTH_CRATE_DIR: &str = "auth";
pub const KIT_CRATE_DIR: &str = "kit";

/// A write's staging folders are named `<STAGING_PREFIX><random>` in the project's root; the
/// next writing command deletes one it finds unfinished.
pub const STAGING_PREFIX: &str = ".stackr-staging-";
