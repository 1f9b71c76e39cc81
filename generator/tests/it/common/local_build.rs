//! Building a generated project inside a test: its services use this repository's runtime crates
//! and the dependency versions of its lock file, and cargo shares this worktree's target folder, so
//! only the project's own crates compile.

use std::path::Path;
use std::process::Command;

/// The repository holding the generator.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Makes `root` (a project from `stackr init`) build against this repository's runtime crates
/// instead of its vendored copies, so cargo reuses what this worktree already compiled: the
/// config's `runtime.path` names `runtime/` here and `stackr generate` points the services at it.
pub fn use_local_runtime(root: &Path) {
    let root = root.canonicalize().unwrap();
    // `runtime.path` is relative to the project root: up to `/`, then down to the repository.
    let up = "../".repeat(root.components().count() - 1);
    let runtime = format!(
        "{up}{}",
        repo_root()
            .join("runtime")
            .display()
            .to_string()
            .trim_start_matches('/')
    );
    super::set_runtime(&root, serde_json::json!({ "path": runtime }));
    let generate = super::stackr(&root, &["generate"]);
    assert!(generate.status.success(), "{}", super::stderr(&generate));
    std::fs::copy(repo_root().join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
}

/// The target folder these tests were built in (`target/` unless CARGO_TARGET_DIR moves it);
/// what a command of [`in_shared_target`] builds lands here.
pub fn shared_target() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap()
}

/// A command whose cargo builds land in this worktree's target folder, without the variables
/// `cargo test` sets for the package under test (they would make cargo rebuild shared crates).
pub fn in_shared_target(mut command: Command) -> Command {
    stackr_testkit::without_cargo_package_env(&mut command);
    command.env("CARGO_TARGET_DIR", shared_target());
    command
}
