//! Evaluation of a generated project as a NixOS host with nixpkgs' real module system
//! (`generator/tests/nixos/evaluate.nix`): shared by the generator's property checks and the
//! checks crate, which runs the evaluated units under a real systemd.
//!
//! nixpkgs' `lib` is not part of this repository (it is MIT-licensed upstream code, used read-only
//! by the tests): `STACKR_NIXPKGS_LIB` names a checkout of it (a folder holding `lib/default.nix`,
//! e.g. nix-community/nixpkgs.lib); unset, it defaults to `../shared/third_party/nixpkgs-lib`
//! relative to the repository root. When nix-instantiate is installed but the lib cannot be found,
//! evaluation panics instead of skipping, so a missing lib is never mistaken for a pass.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root (this crate's parent).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the testkit crate lives in the repository")
}

/// nixpkgs' lib folder (see the module docs), checked to hold `lib/default.nix`.
pub fn nixpkgs_lib() -> PathBuf {
    let dir = std::env::var_os("STACKR_NIXPKGS_LIB").map_or_else(
        || repo_root().join("../shared/third_party/nixpkgs-lib"),
        PathBuf::from,
    );
    assert!(
        dir.join("lib/default.nix").is_file(),
        "nixpkgs' lib not found at {}: set STACKR_NIXPKGS_LIB to a folder holding lib/default.nix \
         (a checkout of nix-community/nixpkgs.lib)",
        dir.display()
    );
    dir
}

/// Evaluates every host of `project` (a folder with the generated `nix/`, placed on several
/// hosts) through the flake outputs of its `nix/fleet.nix`, with the module library at `modules`:
/// the JSON `evaluate-fleet.nix` returns (by host, the data of [`evaluate_nixos_system`] plus the
/// colmena node's `deployment`). `Err` holds Nix's error output.
pub fn evaluate_fleet(modules: &Path, project: &Path) -> Result<Vec<u8>, String> {
    evaluate_fleet_with_host(modules, project, "{ }")
}

/// [`evaluate_fleet`] with `host` (a NixOS module as Nix text) in every host's configuration.
pub fn evaluate_fleet_with_host(
    modules: &Path,
    project: &Path,
    host: &str,
) -> Result<Vec<u8>, String> {
    evaluate_with(
        "evaluate-fleet.nix",
        modules,
        project,
        &format!("host = {host};"),
    )
}

/// Evaluates the VM test of `project`'s `nix/fleet.nix` (`vmTest`), each node with the module
/// library at `modules`: the JSON `evaluate-fleet-vm-test.nix` returns (its name, the nodes'
/// test settings, the test script). `Err` holds Nix's error output.
pub fn evaluate_fleet_vm_test(modules: &Path, project: &Path) -> Result<Vec<u8>, String> {
    evaluate_with("evaluate-fleet-vm-test.nix", modules, project, "")
}

/// The single-host VM test of `project` (`nix/vm-test.nix`) evaluated with the module library at
/// `modules`, as `generator/tests/nixos/evaluate-vm-test.nix` returns it: its name and script.
pub fn evaluate_vm_test(modules: &Path, project: &Path) -> Result<Vec<u8>, String> {
    evaluate_with("evaluate-vm-test.nix", modules, project, "")
}

/// `harness` (in generator/tests/nixos) applied to nixpkgs' lib, the module library at `modules`,
/// `project` and the further arguments `extra` (Nix attribute bindings).
fn evaluate_with(
    harness: &str,
    modules: &Path,
    project: &Path,
    extra: &str,
) -> Result<Vec<u8>, String> {
    let evaluate = repo_root().join("generator/tests/nixos").join(harness);
    let expression = format!(
        "import {} {{ lib = import {}/lib; modules = {}; project = {}; {extra} }}",
        evaluate.display(),
        nixpkgs_lib().display(),
        modules.display(),
        project.display()
    );
    nix_eval(project, &expression)
}

/// Evaluates `project` (a folder with the generated `nix/`) with the module library at `modules`
/// plus `host` (a NixOS module as Nix text): the JSON `evaluate.nix` returns. `Err` holds Nix's
/// error output.
pub fn evaluate_nixos_system(
    modules: &Path,
    project: &Path,
    host: &str,
) -> Result<Vec<u8>, String> {
    evaluate_with("evaluate.nix", modules, project, &format!("host = {host};"))
}

/// `nix-instantiate --eval --strict --json` of `expression` in `dir`: its JSON, or Nix's error.
fn nix_eval(dir: &Path, expression: &str) -> Result<Vec<u8>, String> {
    let output = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E", expression])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run nix-instantiate: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(output.stdout)
}
