//! Evaluates the hand-written NixOS modules (`modules/`) against each fixture's generated values,
//! with a stubbed `lib`/`pkgs` (tests/fixtures/nix/), and checks what they define: isolated
//! PostgreSQL roles and databases, password-protected Redis instances, hardened units whose
//! environment has the same variables as the dev processes and whose secrets are credentials.
//! Skipped when nix-instantiate is not installed.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{
    fixture_config, fixture_dir, generated_project, nix_eval_json, nix_instantiate_available,
    FIXTURES,
};
use serde_json::Value;
use stackr::plan::{plan, Plan};
use stackr::project::check_config_text;

fn evaluate(fixture: &str) -> Option<(Plan, Value)> {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return None;
    }
    let text = fixture_config(fixture);
    let (_, model) = check_config_text(Path::new("stackr.config.json"), &text).unwrap();
    let project = generated_project(&text);
    let modules = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../modules")
        .canonicalize()
        .unwrap();
    let expression = format!(
        "import {} {{ modules = {}; project = {}; }}",
        fixture_dir("nix/eval-modules.nix").display(),
        modules.display(),
        project.path().display()
    );
    // Absolute paths in the expression: it evaluates from anywhere.
    let value = nix_eval_json(project.path(), &expression, fixture);
    Some((plan(&model), value))
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn assertions_hold_for_every_fixture() {
    for fixture in FIXTURES {
        let Some((_, value)) = evaluate(fixture) else {
            return;
        };
        for assertion in value["assertions"].as_array().unwrap() {
            assert_eq!(
                assertion["assertion"], true,
                "{fixture}: {}",
                assertion["message"]
            );
        }
    }
}

#[test]
fn each_service_gets_an_isolated_database_and_redis() {
    for fixture in FIXTURES {
        let Some((plan, value)) = evaluate(fixture) else {
            return;
        };
        let postgres = &value["postgresql"];
        let hba = postgres["authentication"].as_str().unwrap();
        // Nix attribute sets are ordered by name, so compare as sets.
        let databases: BTreeSet<&str> = plan.services.iter().map(|s| s.db_name.as_str()).collect();
        let ensured: BTreeSet<&str> = postgres["ensureDatabases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        assert_eq!(ensured, databases, "{fixture}");
        for service in &plan.services {
            let db = &service.db_name;
            let allow = hba
                .find(&format!("host {db} {db} 127.0.0.1/32 scram-sha-256"))
                .expect("own role allowed");
            let reject = hba
                .find(&format!("host {db} all all reject"))
                .expect("every other role rejected");
            assert!(allow < reject, "{fixture}: pg_hba stops at the first match");
            assert!(postgres["ensureUsers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["name"] == *db && u["ensureDBOwnership"] == true));
            let password_unit =
                &value["dbPasswordUnits"][format!("stackr-{}-db-password", service.name)];
            assert!(password_unit["script"]
                .as_str()
                .unwrap()
                .contains(&format!("ALTER ROLE {db} WITH LOGIN PASSWORD :'password'")));

            let redis = &value["redis"][&service.name];
            assert_eq!(redis["port"], service.deploy_redis_port);
            assert_eq!(redis["bind"], "127.0.0.1");
            assert!(redis["requirePassFile"]
                .as_str()
                .unwrap()
                .starts_with("/run/keys/stackr/"));
        }
    }
}

#[test]
fn units_are_hardened_and_get_secrets_as_credentials() {
    for fixture in FIXTURES {
        let Some((plan, value)) = evaluate(fixture) else {
            return;
        };
        let units = &value["units"];
        let mut expected = BTreeSet::new();
        for service in &plan.services {
            expected.insert(format!("stackr-{}-api", service.name));
            if service.worker_bin.is_some() {
                expected.insert(format!("stackr-{}-worker", service.name));
            }
        }
        assert_eq!(keys(units), expected, "{fixture}");
        for (name, unit) in units.as_object().unwrap() {
            let config = &unit["serviceConfig"];
            for (key, wanted) in [
                ("DynamicUser", Value::Bool(true)),
                ("NoNewPrivileges", true.into()),
                ("PrivateTmp", true.into()),
                ("ProtectSystem", "strict".into()),
            ] {
                assert_eq!(config[key], wanted, "{fixture}: {name}.{key}");
            }
            for (key, val) in unit["environment"].as_object().unwrap() {
                let val = val.as_str().unwrap();
                if key.ends_with("_FILE") {
                    assert!(
                        val.starts_with("%d/"),
                        "{fixture}: {name} {key}={val} must come from LoadCredential"
                    );
                }
                assert!(
                    !val.contains("/run/keys"),
                    "{fixture}: {name} exposes a secret path in {key}"
                );
            }
            let credentials = config["LoadCredential"].as_array().unwrap();
            assert!(credentials
                .iter()
                .all(|c| !c.as_str().unwrap().contains("/nix/store")));
            assert!(credentials
                .iter()
                .any(|c| c.as_str().unwrap().starts_with("db-password:")));
        }
        if let Some(auth) = &plan.auth {
            for service in plan.services.iter().filter(|s| !s.is_auth) {
                let after = &units[format!("stackr-{}-api", service.name)]["after"];
                assert!(
                    after
                        .as_array()
                        .unwrap()
                        .contains(&format!("stackr-{auth}-api.service").into()),
                    "{fixture}"
                );
            }
        }
    }
}

#[test]
fn deployed_environment_has_the_same_variables_as_dev() {
    for fixture in FIXTURES {
        let Some((plan, value)) = evaluate(fixture) else {
            return;
        };
        for service in &plan.services {
            let dev_api: BTreeSet<String> =
                service.api_env.iter().map(|e| e.name.clone()).collect();
            let nix_api =
                keys(&value["units"][format!("stackr-{}-api", service.name)]["environment"]);
            assert_eq!(nix_api, dev_api, "{fixture}/{} API", service.name);
            if service.worker_bin.is_some() {
                let dev_worker: BTreeSet<String> =
                    service.worker_env.iter().map(|e| e.name.clone()).collect();
                let nix_worker =
                    keys(&value["units"][format!("stackr-{}-worker", service.name)]["environment"]);
                assert_eq!(nix_worker, dev_worker, "{fixture}/{} worker", service.name);
            }
        }
    }
}
