//! A project fresh from `stackr init`, in a folder outside this repository, builds with nothing
//! but the package registries and the stackr binary: no lock file, `[patch]` or checkout of stackr
//! is added, and cargo resolves from the local registry cache (what this repository's build
//! fetched), fetches only what that cache lacks, and builds offline. Its services' own tests pass
//! as scaffolded, against real PostgreSQL and Redis the kit's test helper starts.

use crate::common;

use std::process::Command;

use common::local_build::{in_shared_target, repo_root};
use common::{init_project, stderr, stdout};

#[test]
fn a_fresh_project_builds_and_passes_its_own_tests_outside_the_repository() {
    let (_parent, root) = init_project(&[]);
    let root = root.canonicalize().unwrap();
    assert!(
        !root.starts_with(repo_root().canonicalize().unwrap()),
        "{} must be outside the repository",
        root.display()
    );
    assert!(
        !root.join("Cargo.lock").exists(),
        "nothing pins the build to this repository"
    );

    // Resolved from the local registry cache, as offline, so that the project shares what this
    // repository's build compiled; then what that resolution names and the cache lacks comes from
    // the registry. Other tests' online builds add newer crates to the cache, but only what their
    // platform builds: zerocopy's derive crate, for one, is a `cfg(any())` dependency that no
    // platform builds, and `cargo metadata` downloads it.
    for step in [
        &["generate-lockfile", "--offline"][..],
        &["fetch", "--locked"],
    ] {
        let done = in_shared_target(Command::new("cargo"))
            .current_dir(&root)
            .args(step)
            .output()
            .unwrap();
        assert!(done.status.success(), "cargo {step:?}:\n{}", stderr(&done));
    }

    let built = in_shared_target(Command::new("cargo"))
        .current_dir(&root)
        .env("CARGO_NET_OFFLINE", "true")
        .args(["build", "--quiet", "--workspace", "--bins"])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "cargo build failed:\n{}",
        stderr(&built)
    );

    let tested = in_shared_target(Command::new("cargo"))
        .current_dir(&root)
        .env("CARGO_NET_OFFLINE", "true")
        .args(["test", "--workspace"])
        .output()
        .unwrap();
    let report = stdout(&tested);
    assert!(
        tested.status.success(),
        "cargo test failed:\n{report}\n{}",
        stderr(&tested)
    );
    for test in [
        "health_reports_its_own_database_and_redis ... ok",
        "routes_refuse_a_caller_without_a_session ... ok",
        "notes_are_kept_for_the_signed_in_user ... ok",
        "the_worker_completes_an_example_job ... ok",
    ] {
        assert!(report.contains(test), "`{test}` missing from:\n{report}");
    }

    // The runtime crates it built are the project's vendored ones, not this repository's.
    let metadata = in_shared_target(Command::new("cargo"))
        .current_dir(&root)
        .env("CARGO_NET_OFFLINE", "true")
        .args(["metadata", "--format-version", "1"])
        .output()
        .unwrap();
    assert!(metadata.status.success(), "{}", stderr(&metadata));
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout).unwrap();
    for name in ["stackr-auth", "stackr-kit"] {
        let package = metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not in the build"));
        let manifest = package["manifest_path"].as_str().unwrap();
        assert!(
            manifest.starts_with(&root.join("stackr-runtime").display().to_string()),
            "{name} comes from {manifest}"
        );
    }
}
