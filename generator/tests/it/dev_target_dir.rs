//! A cargo config that moves the build (`build.target-dir`, in the project's `.cargo/` or the
//! user's `~/.cargo/`): the stack runs each API and worker from
//! `${CARGO_TARGET_DIR:-target}/debug`, so `stackr dev` hands its processes the folder cargo
//! builds in, or they would not find their binaries (or run old ones left in `target/`).

use crate::common::fake_cargo::FakeCargo;
use crate::common::{init_project_on_free_ports, stderr, stdout};

#[test]
fn the_stack_is_given_the_folder_a_cargo_config_builds_in() {
    let (_parent, root) = init_project_on_free_ports(&[]);
    std::fs::create_dir_all(root.join(".cargo")).unwrap();
    std::fs::write(
        root.join(".cargo/config.toml"),
        "[build]\ntarget-dir = \"elsewhere\"\n",
    )
    .unwrap();
    let cargo = FakeCargo::trying(&[]);
    let dev = cargo.dev(&root, &[]);
    let given = cargo
        .target_dir()
        .unwrap_or_else(|| panic!("cargo never built:\n{}\n{}", stdout(&dev), stderr(&dev)));
    assert_eq!(
        std::path::Path::new(&given),
        root.canonicalize().unwrap().join("elsewhere"),
        "the build's CARGO_TARGET_DIR"
    );
}

/// `cargo metadata` answers in milliseconds, unless rustup first installs the project's toolchain
/// (minutes, on a fresh machine): `stackr dev` says what it waits for instead of sitting silent.
#[test]
fn a_slow_cargo_metadata_is_waited_for_out_loud() {
    let (_parent, root) = init_project_on_free_ports(&[]);
    let cargo = FakeCargo::answering_metadata_after(3);
    let dev = cargo.dev(&root, &[]);
    let said = format!("{}{}", stdout(&dev), stderr(&dev));
    assert!(
        said.contains("waiting for `cargo metadata`"),
        "nothing said while cargo metadata took 3 s:\n{said}"
    );
    assert!(
        cargo.target_dir().is_some(),
        "the stack went on to build:\n{said}"
    );
}
