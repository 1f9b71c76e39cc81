//! Auth's secret on NixOS rotates as auth's runtime rotates it (`AUTH_SECRETS_FILE`, versioned
//! secrets beside the unversioned `AUTH_SECRET_FILE`): replacing the one secret file instead
//! would leave every stored two-factor enrolment sealed by a secret auth no longer has, and its
//! owner locked out. Evaluated with nixpkgs' real module system, as tests/it/nixos_eval.rs does.
//! Skipped when nix-instantiate is not installed.

use crate::common;

use common::nixos::{credentials, evaluate_fleet_with_host, minimal_system, strings, violations};
use common::{fixture_config, generated_project, nix_instantiate_available};

const VERSIONED: &str = "{ stackr.auth.secretsFile = \"/var/keys/stackr/auth-secrets\"; }";

#[test]
fn versioned_auth_secrets_reach_auth_beside_its_secret() {
    let Some(system) = minimal_system(VERSIONED) else {
        return;
    };
    assert_eq!(system["failedAssertions"], serde_json::json!([]));
    let auth = &system["units"]["stackr-auth-api"];
    assert_eq!(auth["environment"]["AUTH_SECRETS_FILE"], "%d/auth-secrets");
    assert_eq!(auth["environment"]["AUTH_SECRET_FILE"], "%d/auth-secret");
    let loaded = credentials(auth);
    assert!(
        loaded.contains(&("auth-secrets", "/var/keys/stackr/auth-secrets")),
        "{loaded:?}"
    );
    assert!(
        loaded.contains(&("auth-secret", "/var/keys/stackr/auth-secret")),
        "{loaded:?}"
    );
    // Auth's alone: no base service's unit loads them.
    for (name, unit) in system["units"].as_object().unwrap() {
        if name != "stackr-auth-api" {
            assert!(
                credentials(unit)
                    .iter()
                    .all(|(id, _)| !id.starts_with("auth-")),
                "{name}"
            );
        }
    }
    let found = violations(&system);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Once every secret auth still needs is listed in `secretsFile`, the unversioned one (a leaked
/// one, say) is retired by setting `secretFile` to null; auth without any secret is refused.
#[test]
fn the_unversioned_secret_can_be_retired_but_not_every_secret() {
    let Some(system) = minimal_system(
        "{ stackr.auth.secretFile = null; stackr.auth.secretsFile = \"/var/keys/stackr/auth-secrets\"; stackr.secrets.generate = true; }",
    ) else {
        return;
    };
    assert_eq!(system["failedAssertions"], serde_json::json!([]));
    let auth = &system["units"]["stackr-auth-api"];
    assert!(auth["environment"]["AUTH_SECRET_FILE"].is_null());
    assert_eq!(auth["environment"]["AUTH_SECRETS_FILE"], "%d/auth-secrets");
    assert!(credentials(auth).iter().all(|(id, _)| *id != "auth-secret"));
    let script = system["units"]["stackr-secrets"]["script"]
        .as_str()
        .unwrap();
    assert!(!script.contains("auth-secret"), "{script}");
    let found = violations(&system);
    assert!(found.is_empty(), "{}", found.join("\n"));

    let none = minimal_system("{ stackr.auth.secretFile = null; }").unwrap();
    let failed = none["failedAssertions"].to_string();
    assert!(
        failed.contains("stackr.auth.secretFile") && failed.contains("stackr.auth.secretsFile"),
        "{failed}"
    );
}

/// In a fleet colmena uploads the versioned secrets to auth's host, and to no other.
#[test]
fn colmena_uploads_the_versioned_secrets_to_auths_host_alone() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let project = generated_project(&fixture_config("fleet"));
    let hosts = evaluate_fleet_with_host(project.path(), VERSIONED);
    for (host, system) in hosts.as_object().unwrap() {
        let key = &system["deployment"]["keys"]["auth-secrets"];
        if host == "gate" {
            assert_eq!(
                strings(&key["keyCommand"]),
                vec!["cat", ".stackr/deploy/auth-secrets"],
                "{host}"
            );
        } else {
            assert!(key.is_null(), "{host}: {key}");
        }
    }
}
