//! The README's step-by-step tour, run exactly as written: its shell block is extracted and run
//! by bash in a fresh folder, with `stackr` on PATH. It runs in a network namespace of its own
//! (root only, as CI and the dev machines run), so the tour's fixed ports (8888, 8080, …) are free
//! whatever else runs on this machine; cargo builds offline against the registry cache.

use crate::common;

use std::process::Command;

use common::local_build::{in_shared_target, repo_root};
use common::{installed, stderr, stdout};

const BEGIN: &str = "<!-- quick-tour:begin -->\n```sh\n";
const END: &str = "```\n<!-- quick-tour:end -->";

fn tour() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme.find(BEGIN).expect("the README has a quick tour") + BEGIN.len();
    let end = start + readme[start..].find(END).expect("the quick tour ends");
    readme[start..end].to_owned()
}

#[test]
fn the_readme_quick_tour_works_as_written() {
    let root = unsafe { libc::geteuid() } == 0;
    if !root || !installed("unshare") || !installed("ip") || !installed("curl") {
        eprintln!("skipped: needs root, unshare, ip and curl (a network namespace of its own)");
        return;
    }
    let tour = tour();
    let folder = tempfile::tempdir().unwrap();
    // The postgres user (initdb refuses root) must be able to traverse the project folder.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(folder.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_stackr"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Fail on the first command that fails, and print each one as it runs.
    let script = format!("set -euo pipefail\nset -x\nip link set lo up\n{tour}");
    let run = in_shared_target(Command::new("unshare"))
        .args(["--net", "bash", "-c", &script])
        .current_dir(folder.path())
        .env("PATH", path)
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .unwrap();
    let said = stdout(&run);
    let log = std::fs::read_to_string(folder.path().join("shop/dev.log")).unwrap_or_default();
    assert!(
        run.status.success(),
        "the tour failed:\n{said}\n{}\n--- dev.log ---\n{log}",
        stderr(&run)
    );
    assert!(said.contains(r#""email":"ada@example.com""#), "{said}");
    assert!(said.contains(r#""role":"admin""#), "Ada is admin: {said}");
    assert!(
        said.contains(r#""service":"billing""#),
        "core called billing: {said}"
    );
    assert!(
        said.contains(r#""returnValue":{"echo":"hello"}"#),
        "the worker's answer: {said}"
    );
}
