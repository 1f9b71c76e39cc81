//! The process-compose file and the NixOS VM test are rendered from the same plan the end-to-end
//! checks run, for the fixture and for the demo stack: one source of truth.
//!
//! For each config: every API process in process-compose.yaml has exactly the environment the
//! checks give that service's process (before remapping ports), and the VM test waits for exactly
//! the plan's services on the plan's ports and tries the plan's databases (read from the commands
//! its script runs against a recording stand-in for the VM). For the demo, the
//! committed files are also byte-identical to what the generator renders from its config now.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use stackr::plan::Plan;
use stackr::render::{render_generated, RenderedFile};
use stackr_checks::fixture::{fixture_dir, fixture_plan};
use stackr_testkit::{evaluate_vm_test, machine_calls, repo_root};

const PROCESS_COMPOSE: &str = "process-compose.yaml";
const VM_TEST: &str = "nix/vm-test.nix";

fn file<'a>(files: &'a [RenderedFile], path: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("the generator renders no {path}"))
        .content
}

/// `<service>-api` process -> its `environment` list, from the process-compose YAML.
fn api_environments(yaml: &str) -> Vec<(String, Vec<String>)> {
    let doc: serde_yaml::Value = serde_yaml::from_str(yaml).expect("process-compose.yaml is YAML");
    let processes = doc["processes"].as_mapping().expect("a processes map");
    processes
        .iter()
        .filter_map(|(name, process)| {
            let service = name.as_str()?.strip_suffix("-api")?.to_owned();
            let env = process["environment"]
                .as_sequence()
                .map(|s| {
                    s.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            Some((service, env))
        })
        .collect()
}

/// Every `<start><capture><end>` in `text`, e.g. unit names or health ports.
fn captures(text: &str, start: &str, end: &str) -> BTreeSet<String> {
    text.match_indices(start)
        .filter_map(|(i, _)| {
            let rest = &text[i + start.len()..];
            rest.find(end).map(|j| rest[..j].to_owned())
        })
        .filter(|c| !c.contains(char::is_whitespace))
        .collect()
}

fn assert_artifacts_follow_plan(label: &str, plan: &Plan, files: &[RenderedFile]) {
    // process-compose: the checks run each API with `api_env`; the dev file must say the same.
    let environments = api_environments(file(files, PROCESS_COMPOSE));
    let compose_services: BTreeSet<&str> = environments.iter().map(|(s, _)| s.as_str()).collect();
    let plan_services: BTreeSet<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        compose_services, plan_services,
        "{label}: API processes in {PROCESS_COMPOSE}"
    );
    for service in &plan.services {
        let planned: Vec<String> = service
            .api_env
            .iter()
            .map(|v| format!("{}={}", v.name, v.value))
            .collect();
        let (_, in_file) = environments
            .iter()
            .find(|(s, _)| *s == service.name)
            .unwrap();
        assert_eq!(
            in_file, &planned,
            "{label}: environment of {}-api in {PROCESS_COMPOSE}",
            service.name
        );
    }

    // VM test: the same services, on the same API ports, with the same databases. Its script is
    // made by Nix from the deployed machine (where each service's stores are), so it is
    // evaluated with the module library, as nixpkgs' test framework would.
    let project = tempfile::tempdir().unwrap();
    for rendered in files {
        let path = project.path().join(&rendered.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &rendered.content).unwrap();
    }
    let evaluated = evaluate_vm_test(&repo_root().join("modules"), project.path())
        .unwrap_or_else(|e| panic!("{label}: {VM_TEST} does not evaluate: {e}"));
    let evaluated: serde_json::Value = serde_json::from_slice(&evaluated).unwrap();
    let calls = machine_calls(evaluated["testScript"].as_str().unwrap());
    let commands: String = calls.iter().map(|c| format!("{}\n", c.argument)).collect();
    let units: BTreeSet<String> = calls
        .iter()
        .filter(|c| c.method == "wait_for_unit")
        .filter_map(|c| {
            c.argument
                .strip_prefix("stackr-")?
                .strip_suffix("-api.service")
        })
        .map(str::to_owned)
        .collect();
    assert_eq!(
        units,
        plan_services
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
        "{label}: API units the VM test waits for"
    );
    let health_ports = captures(&commands, "http://127.0.0.1:", "/health");
    let plan_ports: BTreeSet<String> = plan.services.iter().map(|s| s.port.to_string()).collect();
    assert_eq!(
        health_ports, plan_ports,
        "{label}: API ports the VM test probes"
    );
    // Every psql command of the VM test (`psql -X 'postgres://<role>@<host>:<port>/<db>'`) names
    // the plan's roles/databases; each service reaches its own, and at least one foreign pair is
    // tried.
    let pairs: Vec<(String, String)> = calls
        .iter()
        .filter(|c| c.argument.contains(" psql "))
        .flat_map(|c| captures(&c.argument, "psql -X 'postgres://", "'"))
        .map(|url| {
            let (role, rest) = url.split_once('@').unwrap_or_default();
            let db = rest.rsplit('/').next().unwrap_or_default();
            (role.to_owned(), db.to_owned())
        })
        .collect();
    let db_names: BTreeSet<&str> = plan.services.iter().map(|s| s.db_name.as_str()).collect();
    for (role, db) in &pairs {
        assert!(
            db_names.contains(role.as_str()) && db_names.contains(db.as_str()),
            "{label}: VM test uses {role}/{db}, not in the plan"
        );
    }
    for db in &db_names {
        assert!(
            pairs.iter().any(|(r, d)| r == db && d == db),
            "{label}: the VM test connects {db} to its own database"
        );
    }
    assert!(
        pairs.iter().any(|(r, d)| r != d),
        "{label}: the VM test tries a foreign database"
    );
}

#[test]
fn fixture_process_compose_and_vm_test_come_from_the_plan_the_checks_run() {
    let plan = fixture_plan().unwrap();
    let files = render_generated(&plan).unwrap();
    assert_artifacts_follow_plan("fixture", &plan, &files);
    assert!(fixture_dir().join("stackr.config.json").exists());
}

#[test]
fn demo_process_compose_and_vm_test_come_from_one_plan_and_are_up_to_date() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned();
    let project = stackr::project::load_project(&root)
        .map_err(|e| e.to_string())
        .unwrap();
    let files = render_generated(&project.plan).unwrap();
    assert_artifacts_follow_plan("demo", &project.plan, &files);
    for path in [PROCESS_COMPOSE, VM_TEST] {
        let committed = std::fs::read_to_string(root.join(Path::new(path))).unwrap();
        assert!(
            committed == file(&files, path),
            "the demo's {path} is not what its plan renders; run `stackr generate`"
        );
    }
}

/// The comparison above can fail: a plan that no longer matches the rendered files is caught.
#[test]
fn a_plan_that_drifted_from_the_files_is_caught() {
    let plan = fixture_plan().unwrap();
    let files = render_generated(&plan).unwrap();
    let mut other_port = plan.clone();
    other_port.services[1].port += 1000;
    let mut other_env = plan.clone();
    other_env.services[2]
        .api_env
        .retain(|v| v.name != "SESSION_CACHE_TTL_MS");
    for (what, drifted) in [("port", other_port), ("environment", other_env)] {
        let caught =
            std::panic::catch_unwind(|| assert_artifacts_follow_plan("drifted", &drifted, &files));
        assert!(caught.is_err(), "a drifted {what} went unnoticed");
    }
}
