//! The generated process-compose.yaml validates against process-compose's own JSON Schema and
//! keeps the structural promises the dev supervisor relies on.

use crate::common;

use std::collections::BTreeSet;

use common::{fixture_config, fixture_dir, FIXTURES};
use serde_json::Value;

fn schema() -> Value {
    let text = std::fs::read_to_string(fixture_dir("process-compose-schema.json"))
        .expect("schema fixture");
    serde_json::from_str(&text).expect("schema is JSON")
}

/// The text of the fixture's generated process-compose.yaml.
fn process_compose_yaml(fixture: &str) -> String {
    stackr::generate_in_memory(&fixture_config(fixture))
        .unwrap()
        .into_iter()
        .find(|f| f.path == "process-compose.yaml")
        .unwrap()
        .content
}

fn process_compose(fixture: &str) -> Value {
    serde_yaml::from_str(&process_compose_yaml(fixture))
        .expect("generated process-compose.yaml is YAML")
}

#[test]
fn validates_against_the_process_compose_schema() {
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    for fixture in FIXTURES {
        let document = process_compose(fixture);
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{fixture}: {errors:#?}");
    }
}

#[test]
fn the_schema_check_can_fail() {
    // Guards the test above against a schema that accepts anything.
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let mut document = process_compose("minimal");
    document["processes"]["core-api"]["depends_on"]["build"]["condition"] =
        "process_finished".into();
    assert!(!validator.is_valid(&document));
}

#[test]
fn dependencies_point_at_existing_processes() {
    for fixture in FIXTURES {
        let document = process_compose(fixture);
        let processes = document["processes"].as_object().unwrap();
        let names: BTreeSet<&str> = processes.keys().map(String::as_str).collect();
        for (name, process) in processes {
            if let Some(deps) = process["depends_on"].as_object() {
                for dep in deps.keys() {
                    assert!(
                        names.contains(dep.as_str()),
                        "{fixture}: {name} depends on missing {dep}"
                    );
                }
            }
        }
    }
}

/// Every process that sets the mode of the state folder runs after the one before it: `secrets`
/// makes it the developer's only, and as root each `db-init` then opens it to the postgres
/// user's traversal. Run side by side, the `secrets` step could close it again after a
/// `db-init` opened it, and initdb (as postgres) failed to reach its folder.
#[test]
fn db_init_runs_after_the_secrets_step_that_closes_the_state_folder() {
    for fixture in FIXTURES {
        let document = process_compose(fixture);
        let processes = document["processes"].as_object().unwrap();
        let closes = processes["secrets"]["command"].as_str().unwrap();
        assert!(closes.contains("chmod 700"), "{fixture}: {closes}");
        for (name, process) in processes.iter().filter(|(n, _)| n.ends_with("-db-init")) {
            assert_eq!(
                process["depends_on"]["secrets"]["condition"], "process_completed_successfully",
                "{fixture}: {name} may run beside the secrets step"
            );
        }
    }
}

#[test]
fn every_service_has_its_processes_and_base_apis_wait_for_auth() {
    let document = process_compose("five-services");
    let processes = &document["processes"];
    for service in ["identity", "profile", "ledger", "my-feed", "status"] {
        for suffix in ["db-init", "postgres", "db-setup", "redis", "api"] {
            assert!(
                processes.get(format!("{service}-{suffix}")).is_some(),
                "{service}-{suffix}"
            );
        }
        let api = &processes[format!("{service}-api")];
        assert_eq!(api["readiness_probe"]["http_get"]["path"], "/health");
        assert_eq!(
            api["depends_on"]["build"]["condition"],
            "process_completed_successfully"
        );
        if service != "identity" {
            assert_eq!(
                api["depends_on"]["identity-api"]["condition"], "process_healthy",
                "{service}"
            );
        }
    }
    assert!(
        processes.get("status-worker").is_none(),
        "status has no worker"
    );
    assert!(processes.get("ledger-worker").is_some());
    assert!(processes.get("secrets").is_some() && processes.get("build").is_some());
}

#[test]
fn dev_ports_avoid_system_defaults_and_secrets_are_files() {
    for fixture in FIXTURES {
        let yaml = process_compose_yaml(fixture);
        let numbers: BTreeSet<&str> = yaml
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .collect();
        assert!(
            !numbers.contains("5432") && !numbers.contains("6379"),
            "{fixture} uses a system default port"
        );
        assert!(
            numbers.contains("15440") || numbers.contains("55000"),
            "{fixture}: expected a dev PostgreSQL port"
        );
        let document: Value = serde_yaml::from_str(&yaml).unwrap();
        for (name, process) in document["processes"].as_object().unwrap() {
            for entry in process["environment"].as_array().into_iter().flatten() {
                let entry = entry.as_str().unwrap();
                let key = entry.split('=').next().unwrap();
                assert!(
                    !(key.contains("PASSWORD")
                        || key.contains("SECRET")
                        || key.contains("CREDENTIAL"))
                        || key.ends_with("_FILE")
                        || key.ends_with("_DIR"),
                    "{fixture}: {name} passes a secret by value: {entry}"
                );
            }
        }
    }
}

/// Every `command` in `value` (processes' own and their probes').
fn commands<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner.as_str()) {
                    ("command", Some(command)) => found.push(command),
                    _ => commands(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| commands(item, found)),
        _ => {}
    }
}

/// A secret read from its file into an environment variable (`NAME="$(cat file)" program`)
/// sits in that program's /proc/PID/environ for its whole life; programs get secrets from
/// files or standard input instead.
#[test]
fn no_command_puts_a_secret_file_in_an_environment_variable() {
    for fixture in FIXTURES {
        let document = process_compose(fixture);
        let mut found = Vec::new();
        commands(&document["processes"], &mut found);
        assert!(found.len() > 10, "{fixture}: commands found: {found:?}");
        for command in found {
            let assigned_from_a_file = ["=\"$(cat ", "=$(cat "]
                .iter()
                .filter_map(|pattern| command.find(pattern))
                .any(|at| command[..at].ends_with(|c: char| c.is_ascii_uppercase() || c == '_'));
            assert!(
                !assigned_from_a_file,
                "{fixture}: a secret goes through the environment in: {command}"
            );
        }
    }
}

#[test]
fn dev_sql_quotes_every_role_and_database_name() {
    for fixture in FIXTURES {
        let compose = process_compose(fixture);
        for (name, process) in compose["processes"].as_object().unwrap() {
            let command = process["command"].as_str().unwrap_or("");
            let found = common::nixos::sql_identifier_violations(name, command);
            assert!(found.is_empty(), "{fixture}: {found:?}");
        }
    }
}
