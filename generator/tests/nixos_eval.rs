//! Evaluates the module library with every generated project (the repository's own config and
//! each fixture) as a NixOS host, with nixpkgs' real `lib.evalModules` against NixOS option
//! declarations typed as nixpkgs types them (tests/nixos/), then checks the system's properties
//! (tests/common/nixos.rs) and that the deployed processes get what the dev processes get.
//! Skipped when nix-instantiate is not installed; fails when nixpkgs' lib is missing.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::nixos::{evaluate_system, modules_dir, repo_root, violations};
use common::{
    fixture_config, fixture_plan, generated_project, nix_instantiate_available, FIXTURES,
};
use serde_json::Value;
use stackr::plan::Plan;

/// Host settings every project is evaluated with: as generated, and as the VM test deploys it.
const HOSTS: &[&str] = &["{ }", "{ stackr.secrets.generate = true; }"];

/// Each project (name, plan, folder with its generated `nix/`), evaluated on each host.
fn systems() -> Vec<(String, Plan, Value)> {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return Vec::new();
    }
    let mut projects: Vec<(String, Plan, Option<tempfile::TempDir>, PathBuf)> = vec![{
        let text = std::fs::read_to_string(repo_root().join("stackr.config.json")).unwrap();
        let (_, model) =
            stackr::project::check_config_text(std::path::Path::new("stackr.config.json"), &text)
                .unwrap();
        (
            "repository".to_owned(),
            stackr::plan::plan(&model),
            None,
            repo_root(),
        )
    }];
    for fixture in FIXTURES {
        let dir = generated_project(&fixture_config(fixture));
        let path = dir.path().to_owned();
        projects.push((fixture.to_string(), fixture_plan(fixture), Some(dir), path));
    }
    let mut systems = Vec::new();
    for (name, plan, _dir, path) in &projects {
        for host in HOSTS {
            let system = evaluate_system(&modules_dir(), path, host)
                .unwrap_or_else(|error| panic!("{name} with host {host}: {error}"));
            systems.push((format!("{name} with host {host}"), plan.clone(), system));
        }
    }
    systems
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn every_project_evaluates_to_a_sound_system() {
    for (name, _, system) in systems() {
        let found = violations(&system);
        assert!(found.is_empty(), "{name}:\n{}", found.join("\n"));
    }
}

#[test]
fn units_are_hardened_and_deployed_environment_matches_dev() {
    for (name, plan, system) in systems() {
        let units = &system["units"];
        for service in &plan.services {
            let mut processes = vec![("api", &service.api_env)];
            if service.worker_bin.is_some() {
                processes.push(("worker", &service.worker_env));
            }
            for (role, dev_env) in processes {
                let unit = &units[format!("stackr-{}-{role}", service.name)];
                let dev: BTreeSet<String> = dev_env.iter().map(|e| e.name.clone()).collect();
                assert_eq!(
                    keys(&unit["environment"]),
                    dev,
                    "{name}: {} {role}",
                    service.name
                );
                let config = &unit["serviceConfig"];
                for (key, wanted) in [
                    ("NoNewPrivileges", Value::Bool(true)),
                    ("PrivateTmp", true.into()),
                    ("ProtectSystem", "strict".into()),
                    ("CapabilityBoundingSet", "".into()),
                ] {
                    assert_eq!(config[key], wanted, "{name}: {} {role} {key}", service.name);
                }
            }
        }
    }
}
