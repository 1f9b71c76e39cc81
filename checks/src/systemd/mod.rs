//! The NixOS deployment run under a real systemd: the units of the module evaluation
//! (`generator/tests/nixos/evaluate.nix`, nixpkgs' real `lib.evalModules`) rendered as NixOS writes
//! them ([`render`]), their store paths mapped by one table to Debian's programs and the
//! workspace's binaries ([`store`]), booted in a container whose PID 1 is systemd ([`machine`]).

pub mod container_limits;
pub mod curl;
pub mod machine;
pub mod project;
pub mod render;
pub mod store;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde_json::Value;

pub use machine::Machine;
pub use render::Entry;

/// The repository's own project as a NixOS host deploys it with `host` (a NixOS module as Nix
/// text): the JSON `evaluate.nix` returns.
pub fn evaluate_repository(host: &str) -> anyhow::Result<Value> {
    evaluate_project(&stackr_testkit::repo_root(), host)
}

/// `project` (a folder with the generated `nix/` of a config whose services are the workspace's,
/// such as [`project::changed_project`]'s) as a NixOS host deploys it with `host`: the JSON
/// `evaluate.nix` returns.
pub fn evaluate_project(project: &Path, host: &str) -> anyhow::Result<Value> {
    let root = stackr_testkit::repo_root();
    let host = format!(
        "{{ imports = [ ({host}) {} ]; }}",
        store::DEBIAN_POSTGRESQL_HOST
    );
    let json = stackr_testkit::evaluate_nixos_system(&root.join("modules"), project, &host)
        .map_err(|e| anyhow::anyhow!("the module evaluation failed:\n{e}"))?;
    let system: Value = serde_json::from_slice(&json).context("evaluate.nix printed no JSON")?;
    let failed = &system["failedAssertions"];
    anyhow::ensure!(
        failed.as_array().is_some_and(Vec::is_empty),
        "the system fails its assertions: {failed}"
    );
    Ok(system)
}

/// Every file of the rendered system, by path relative to `/`: unit files and links, store
/// files and package links, system users. `system` is as evaluated, minus what
/// [`container_limits`] removes (returned, to be shown).
pub fn render_system(system: &Value) -> anyhow::Result<(BTreeMap<String, Entry>, Vec<String>)> {
    let mut system = system.clone();
    let adapted = container_limits::drop_private_users_beside_protect_proc(&mut system);
    let system = &system;
    let mut root = render::unit_files(system)?;
    root.extend(render::socket_files(system)?);
    root.extend(render::command_files(system)?);
    let store = store::store_entries(system, &root)?;
    root.extend(store);
    let (path, users) = store::sysusers(system)?;
    root.insert(path, users);
    Ok((root, adapted))
}

/// The cargo profile folder holding the workspace's binaries (this test's own, so the mounted
/// binaries are the ones built with it).
pub fn workspace_bin_dir() -> anyhow::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test binary>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test binary is not in target/<profile>/deps")?;
    Ok(dir.to_owned())
}

/// The job a service's worker handles: the `EXAMPLE` name in the `job_names.rs` of the crate
/// the deployed binaries are built from.
pub fn example_job(service: &str) -> String {
    let path = stackr_testkit::repo_root().join(format!("services/{service}/src/job_names.rs"));
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let after = source
        .split("pub const EXAMPLE: &str = \"")
        .nth(1)
        .unwrap_or_else(|| panic!("{} declares no EXAMPLE job", path.display()));
    after[..after.find('"').expect("the name is a string literal")].to_owned()
}

/// The workspace's binaries the units run, as `scripts/test.sh` builds them (a no-op there), in
/// the profile of the running test or bench (whose folder is mounted).
pub fn build_workspace_binaries() {
    let mut cargo = std::process::Command::new(env!("CARGO"));
    stackr_testkit::without_cargo_package_env(&mut cargo).args([
        "build",
        "--workspace",
        "--bins",
        "--locked",
    ]);
    if workspace_bin_dir().unwrap().ends_with("release") {
        cargo.arg("--release");
    }
    let status = cargo
        .current_dir(stackr_testkit::repo_root())
        .status()
        .expect("running cargo build");
    assert!(status.success(), "cargo build --workspace --bins failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's project renders without a container: every store path a unit or a host
    /// command names (`stackr-set-role`, `stackr-postgres`) has its place in the store table.
    #[test]
    fn the_repository_renders_with_every_program_in_the_store_table() {
        let nix = std::process::Command::new("nix-instantiate")
            .arg("--version")
            .output();
        if !nix.is_ok_and(|o| o.status.success()) {
            eprintln!("nix-instantiate not installed: skipped");
            return;
        }
        let system = evaluate_repository("{ stackr.secrets.generate = true; }").unwrap();
        let (root, _) = render_system(&system).unwrap();
        assert!(root.contains_key("usr/local/bin/stackr-postgres"));
    }
}
