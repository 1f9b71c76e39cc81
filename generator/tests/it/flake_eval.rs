//! Evaluates the outputs of the repository's flake and of a scaffolded project's flake with
//! nixpkgs' real lib and stand-ins for packages and crane (tests/fixtures/nix/flake-outputs.nix):
//! crane builds with one shared dependency build, rustfmt available to the tests check, app
//! descriptions, a formatter. Skipped when nix-instantiate is not installed.

use crate::common;

use std::path::Path;

use common::nixos::{nixpkgs_lib, repo_root};
use common::{fixture_dir, init_project, nix_eval_json, nix_instantiate_available};
use serde_json::Value;

fn flake_outputs(root: &Path) -> Value {
    flake_outputs_with(root, false)
}

/// `list_sources`: also list the files the services' builds see (`buildSources`).
fn flake_outputs_with(root: &Path, list_sources: bool) -> Value {
    let expression = format!(
        "import {} {{ lib = import {}/lib; flake = {}/flake.nix; listSources = {list_sources}; }}",
        fixture_dir("nix/flake-outputs.nix").display(),
        nixpkgs_lib().display(),
        root.display()
    );
    nix_eval_json(root, &expression, &root.display().to_string())
}

fn check_flake(root: &Path) {
    let outputs = flake_outputs(root);
    let context = root.display();
    assert!(
        outputs["inputs"]
            .as_array()
            .unwrap()
            .contains(&"crane".into()),
        "{context}: {outputs}"
    );
    for (app, description) in outputs["apps"].as_object().unwrap() {
        assert!(
            description.as_str().is_some_and(|d| !d.is_empty()),
            "{context}: app {app} has no meta.description"
        );
    }
    assert!(outputs["formatter"].is_string(), "{context}: no formatter");
    let tests = &outputs["checks"]["cargo-tests"];
    assert_eq!(tests["builder"], "cargoTest", "{context}");
    assert_eq!(tests["deps"], "buildDepsOnly", "{context}");
    assert!(
        tests["nativeBuildInputs"]
            .as_array()
            .unwrap()
            .contains(&"rustfmt".into()),
        "{context}: the tests check needs rustfmt on PATH"
    );
    for (name, package) in outputs["packages"].as_object().unwrap() {
        if package["builder"] != "buildPackage" {
            continue;
        }
        assert_eq!(package["deps"], "buildDepsOnly", "{context}: {name}");
        assert!(
            package["cargoExtraArgs"]
                .as_str()
                .unwrap()
                .starts_with("--locked --package "),
            "{context}: {name}"
        );
    }
    for file in ["flake.nix", "nix/packages.nix"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(
            !text.contains("allowBuiltinFetchGit"),
            "{context}/{file}: crane resolves git dependencies itself"
        );
    }
}

#[test]
fn repository_flake_builds_with_crane_and_has_app_meta_and_formatter() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    check_flake(&repo_root());
}

#[test]
fn scaffolded_flake_builds_with_crane_and_has_app_meta_and_formatter() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let (_parent, root) = init_project(&[]);
    check_flake(&root);
}

/// The project's flake builds the services from the runtime crates vendored in the project: every
/// file of `stackr-runtime/` (manifests, sources, SQL migrations) passes its source filter.
#[test]
fn scaffolded_flake_builds_from_the_vendored_runtime() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let (_parent, root) = init_project(&[]);
    let outputs = flake_outputs_with(&root, true);
    let seen: Vec<&str> = outputs["buildSources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let vendored = common::tree(&root.join("stackr-runtime"));
    let needed: Vec<String> = vendored
        .keys()
        .map(|path| format!("stackr-runtime/{}", path.display()))
        .filter(|path| !path.ends_with("README.md"))
        .collect();
    assert!(needed.iter().any(|p| p.ends_with(".sql")), "{needed:?}");
    for path in &needed {
        assert!(
            seen.contains(&path.as_str()),
            "the flake's build does not see {path}: {seen:?}"
        );
    }
    assert!(seen.contains(&"services/core/Cargo.toml"), "{seen:?}");
    assert!(
        !seen.contains(&"stackr.config.json"),
        "only what cargo reads: {seen:?}"
    );
}

/// The lines docs/deploy.md tells a user to add to a scaffolded flake for a stack on several
/// hosts: the colmena input, the outputs' arguments, and the fleet's outputs.
fn docs_fleet_lines() -> (String, String, String) {
    let docs = std::fs::read_to_string(repo_root().join("docs/deploy.md")).unwrap();
    let (_, section) = docs
        .split_once("### 3. Add the fleet to the flake")
        .unwrap();
    let (_, block) = section.split_once("```nix\n").unwrap();
    let (block, _) = block.split_once("```").unwrap();
    let line = |start: &str| {
        block
            .lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("docs/deploy.md: no `{start}` line"))
            .trim()
            .to_owned()
    };
    let (_, fleet) = block.split_once("    // (import ./nix/fleet.nix").unwrap();
    (
        line("inputs.colmena.url"),
        line("outputs ="),
        format!("    // (import ./nix/fleet.nix{fleet}"),
    )
}

#[test]
fn a_scaffolded_flake_with_the_documented_fleet_lines_has_a_host_configuration_and_colmena_node_per_host(
) {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let (_parent, root) = init_project(&[]);
    common::edit_config(&root, |config| {
        config["placement"] = serde_json::json!({ "hosts": [
            { "name": "gate", "address": "10.0.0.10", "runs": { "auth": { "api": 1, "postgres": true, "redis": true } } },
            { "name": "app", "address": "10.0.0.11", "runs": { "core": { "api": 2, "worker": 2 } } },
            { "name": "data", "address": "10.0.0.20", "runs": { "core": { "postgres": true, "redis": true } } }
        ] });
    });

    let (input, outputs_line, fleet) = docs_fleet_lines();
    let flake = std::fs::read_to_string(root.join("flake.nix")).unwrap();
    let flake = flake
        .replacen("  inputs = {", &format!("  {input}\n  inputs = {{"), 1)
        .replacen(
            "  outputs = { self, nixpkgs, stackr, crane }:",
            &format!("  {outputs_line}"),
            1,
        );
    let end = flake.rfind("\n    };\n}").expect("the outputs' end");
    let flake = format!("{}\n    }}\n{fleet}}}\n", &flake[..end]);
    std::fs::write(root.join("flake.nix"), flake).unwrap();
    std::fs::create_dir(root.join("hosts")).unwrap();
    for host in ["gate", "app", "data"] {
        std::fs::write(root.join(format!("hosts/{host}.nix")), "{ }\n").unwrap();
    }

    let outputs = flake_outputs(&root);
    for (host, address, tags) in [
        ("gate", "10.0.0.10", vec!["auth"]),
        ("app", "10.0.0.11", vec!["core"]),
        ("data", "10.0.0.20", vec!["core"]),
    ] {
        let system = &outputs["nixosConfigurations"][host];
        assert_eq!(system["thisHost"], host, "{outputs}");
        assert_eq!(system["failedAssertions"], serde_json::json!([]), "{host}");
        let node = &outputs["colmenaHive"][host];
        assert_eq!(node["targetHost"], address);
        assert_eq!(node["tags"], serde_json::json!(tags));
        assert!(
            node["keys"]
                .as_array()
                .unwrap()
                .contains(&"tls-ca.crt".into()),
            "{host}: {node}"
        );
    }
    let app_units = outputs["nixosConfigurations"]["app"]["units"]
        .as_array()
        .unwrap();
    for unit in [
        "stackr-core-api-1",
        "stackr-core-api-2",
        "stackr-core-worker-2",
    ] {
        assert!(app_units.contains(&unit.into()), "{unit} in {app_units:?}");
    }
}
