//! The published JSON Schema (generated from the Rust types) accepts what the loader accepts and
//! rejects what it rejects, so editor completion never disagrees with stackr.

use crate::common;

use common::{fixture_config, FIXTURES};
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&stackr::config::config_schema_json()).unwrap();
    jsonschema::validator_for(&schema).expect("the config schema compiles")
}

#[test]
fn fixture_and_repository_configs_validate() {
    let validator = validator();
    let repo_config = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../stackr.config.json"),
    )
    .unwrap();
    let configs = FIXTURES
        .iter()
        .chain(&["fleet"])
        .map(|f| fixture_config(f))
        .chain([repo_config]);
    for text in configs {
        let value: Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}\n{text}");
    }
}

#[test]
fn schema_rejects_unknown_fields_and_bad_values() {
    let validator = validator();
    let bad = [
        r#"{ "name": "x", "services": [ { "name": "a", "prot": 1 } ] }"#,
        r#"{ "name": "x", "services": [ { "name": "a", "authMiddleware": "sometimes" } ] }"#,
        r#"{ "name": "x", "services": [ { "name": "a", "port": 70000 } ] }"#,
        r#"{ "name": "x" }"#,
        r#"{ "name": "x", "services": [], "extra": true }"#,
        r#"{ "name": "x", "services": [], "placement": { "hosts": [ { "name": "h", "address": "10.0.0.1", "runs": { "a": { "api": -1 } } } ] } }"#,
        r#"{ "name": "x", "services": [], "placement": { "hosts": [ { "name": "h", "adress": "10.0.0.1" } ] } }"#,
    ];
    // Refused by the model's checks (not by parsing): the schema says so too.
    let refused_by_the_model = [
        r#"{ "name": "x", "services": [ { "name": "a" } ], "placement": { "hosts": [ { "name": "h", "address": "10.0.0.1", "runs": { "a": { "api": 101 } } } ] } }"#,
        r#"{ "name": "x", "services": [ { "name": "a" } ], "placement": { "hosts": [ { "name": "h", "address": "10.0.0.1", "runs": { "a": { "worker": 0 } } } ] } }"#,
        r#"{ "name": "x", "stateDir": "~", "services": [] }"#,
        r#"{ "name": "x", "stateDir": ".st;touch x", "services": [] }"#,
    ];
    for text in refused_by_the_model {
        let value: Value = serde_json::from_str(text).unwrap();
        assert!(!validator.is_valid(&value), "schema accepted {text}");
    }
    for text in bad {
        let value: Value = serde_json::from_str(text).unwrap();
        assert!(!validator.is_valid(&value), "schema accepted {text}");
        assert!(
            stackr::config::parse_config(std::path::Path::new("c.json"), text).is_err(),
            "loader accepted {text}"
        );
    }
}

#[test]
fn repository_schema_file_is_the_generated_one() {
    let on_disk = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../stackr.schema.json"),
    )
    .unwrap();
    assert_eq!(on_disk, stackr::config::config_schema_json());
}
