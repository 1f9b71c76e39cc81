//! `stackr dev --only core` builds what it starts, auth's and core's crates: a service left out
//! that does not compile (another developer's work in progress) does not stop it. The API port of
//! the service left out stays held while the stack runs: core still calls it there.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

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
    // A `cargo` that records what it was asked to build, and whether another program could take
    // wallet's port then (as a local user would, to receive core's calls), then fails: the stack
    // stops there.
    let bin = tempfile::tempdir().unwrap();
    let asked = bin.path().join("asked");
    let taken = bin.path().join("taken");
    let cargo = bin.path().join("cargo");
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh\necho \"$@\" >> {asked}\npython3 -c 'import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"127.0.0.1\", {wallet_port})); s.listen(); print(\"taken\")' > {taken} 2>&1\nexit 1\n",
            asked = asked.display(),
            taken = taken.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );

    let dev = Command::new(env!("CARGO_BIN_EXE_stackr"))
        .args(["dev", "--embedded", "--only", "core"])
        .current_dir(&root)
        .env("PATH", path)
        .output()
        .unwrap();
    let asked = std::fs::read_to_string(&asked)
        .unwrap_or_else(|_| panic!("cargo never ran:\n{}\n{}", stdout(&dev), stderr(&dev)));
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
    let taken = std::fs::read_to_string(&taken).unwrap();
    assert!(
        taken.contains("Address already in use"),
        "wallet's port {wallet_port} while core ran: {taken}"
    );
}
