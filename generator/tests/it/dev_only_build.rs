//! `stackr dev --only core` builds what it starts, auth's and core's crates: a service left out
//! that does not compile (another developer's work in progress) does not stop it. The API port of
//! the service left out stays held while the stack runs: core still calls it there.

use crate::common::fake_cargo::FakeCargo;
use crate::common::{init_project_on_free_ports, read_config, stderr, stdout};

#[test]
fn only_builds_the_services_it_starts() {
    // Its stores start for real beside the build: on ports of their own.
    let (_parent, root) = init_project_on_free_ports(&["--with-services", "core,wallet"]);
    let wallet_port = read_config(&root)["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "wallet")
        .and_then(|s| s["port"].as_u64())
        .expect("wallet's port in the config");
    // While cargo runs, could another program take wallet's port (as a local user would, to
    // receive core's calls)?
    let cargo = FakeCargo::trying(&[wallet_port as u16]);
    let dev = cargo.dev(&root, &["--only", "core"]);
    let asked = cargo
        .asked()
        .unwrap_or_else(|| panic!("cargo never ran:\n{}\n{}", stdout(&dev), stderr(&dev)));
    let args: Vec<&str> = asked.split_whitespace().collect();
    assert_eq!(args.first(), Some(&"build"), "{asked}");
    assert!(!args.contains(&"--workspace"), "{asked}");
    for package in ["auth-service", "core-service"] {
        assert!(
            args.windows(2).any(|pair| pair == ["-p", package]),
            "{package} built: {asked}"
        );
    }
    assert!(!asked.contains("wallet"), "{asked}");
    assert!(
        cargo.held(wallet_port as u16),
        "wallet's port {wallet_port} while core ran: {}",
        cargo.tried(wallet_port as u16)
    );
}
