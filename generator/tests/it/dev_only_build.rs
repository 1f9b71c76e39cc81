//! `stackr dev --only core` builds what it starts, auth's and core's crates: a service left out
//! that does not compile (another developer's work in progress) does not stop it.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::common::{init_project, stackr, stderr, stdout};

#[test]
fn only_builds_the_services_it_starts() {
    let (_parent, root) = init_project(&["--with-services", "core,wallet"]);
    // Its stores start for real beside the build: on ports of their own, away from the other
    // tests' and a developer's stacks.
    let path = root.join("stackr.config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["dev"]["postgresPortStart"] = stackr_testkit::free_port().into();
    config["dev"]["redisPortStart"] = stackr_testkit::free_port().into();
    for service in config["services"].as_array_mut().unwrap() {
        service["port"] = stackr_testkit::free_port().into();
        if service.get("adminPort").is_some() {
            service["adminPort"] = stackr_testkit::free_port().into();
        }
    }
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    assert!(stackr(&root, &["generate"]).status.success());
    // A `cargo` that records what it was asked to build, then fails: the stack stops there.
    let bin = tempfile::tempdir().unwrap();
    let asked = bin.path().join("asked");
    let cargo = bin.path().join("cargo");
    std::fs::write(
        &cargo,
        format!("#!/bin/sh\necho \"$@\" >> {}\nexit 1\n", asked.display()),
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
}
