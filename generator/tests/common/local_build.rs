//! Building a generated project inside a test: its services use this repository's runtime crates
//! and the dependency versions of its lock file, and cargo shares this worktree's target folder, so
//! only the project's own crates compile.

use std::path::Path;
use std::process::Command;

/// The repository holding the generator.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Makes `root` (a project from `stackr init`) build against this repository's runtime crates.
pub fn use_local_runtime(root: &Path) {
    let repo = repo_root();
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let patch = format!(
        "\n[patch.crates-io]\nstackr-auth = {{ path = {auth:?} }}\nstackr-kit = {{ path = {kit:?} }}\n",
        auth = repo.join("runtime/auth"),
        kit = repo.join("runtime/kit"),
    );
    std::fs::write(root.join("Cargo.toml"), cargo + &patch).unwrap();
    std::fs::copy(repo.join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
}

/// A command whose cargo builds land in this worktree's target folder, without the variables
/// `cargo test` sets for the package under test (they would make cargo rebuild shared crates).
pub fn in_shared_target(mut command: Command) -> Command {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    stackr_testkit::without_cargo_package_env(&mut command);
    command.env("CARGO_TARGET_DIR", target);
    command
}
