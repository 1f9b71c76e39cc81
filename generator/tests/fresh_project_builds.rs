//! A project fresh from `stackr init`, in a folder outside this repository, builds with nothing
//! but the package registries and the stackr binary: no lock file, `[patch]` or checkout of stackr
//! is added, and cargo runs offline against the local registry cache (every registry crate the
//! runtime needs is there, as this repository's build fetched it).

mod common;

use std::process::Command;

use common::local_build::{in_shared_target, repo_root};
use common::{init_project, stderr};

#[test]
fn a_fresh_project_builds_outside_the_repository() {
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
