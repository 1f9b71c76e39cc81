//! A fleet host's key folder (`stackr.secretsDir`, where colmena uploads `deployment.keys`) holds,
//! after a deploy, the keys of the deployed configuration and none that only an earlier deploy
//! listed. Two generations of the fleet fixture are evaluated, the first with core's database and
//! Redis passwords in files of other names, the second with its database password renamed again
//! (a key added in that deploy) and its Redis password back at its default, and the prune unit's
//! script of each (as evaluated) is run on a temporary folder
//! standing in for the host's, after colmena's pre-activation upload of that generation's keys.
//! Skipped when nix-instantiate is not installed; fails when nixpkgs' lib is missing.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::nixos::{evaluate_fleet_with_host, strings};
use common::{fixture_config, generated_project_with_config, nix_instantiate_available};
use serde_json::Value;

const UNIT: &str = "stackr-stale-keys";
const HOST: &str = "data";

/// Host `HOST` of the fleet with its secrets in `dir`, and core's `files` (secret options under
/// `stackr.services.core`, such as `postgres.passwordFile`) named as given there: both of that
/// service's stores run on `HOST`.
fn generation(project: &Path, dir: &Path, files: &[(&str, &str)]) -> Value {
    let dir = dir.display();
    let files: Vec<String> = files
        .iter()
        .map(|(option, key)| format!("stackr.services.core.{option} = \"{dir}/{key}\";"))
        .collect();
    let host = format!("{{ stackr.secretsDir = \"{dir}\"; {} }}", files.join(" "));
    evaluate_fleet_with_host(project, &host)[HOST].clone()
}

/// What colmena does before activation: every key of `system` written to its path (a key already
/// there keeps its content, as an unchanged source gives the same file).
fn upload(system: &Value) {
    for key in system["deployment"]["keys"].as_object().unwrap().values() {
        assert_eq!(
            key["uploadAt"], "pre-activation",
            "a key uploaded after activation: {key}"
        );
        let path = Path::new(key["path"].as_str().unwrap());
        if !path.exists() {
            std::fs::write(path, format!("secret of {}", path.display())).unwrap();
        }
    }
}

/// Runs the prune unit of `system` as systemd would: its `ExecStartPre=` commands (outside its
/// sandbox, `+`; the coreutils of the stand-in store are the system's here), then its script.
fn activate(system: &Value) -> String {
    let unit = &system["units"][UNIT];
    let script = unit["script"]
        .as_str()
        .unwrap_or_else(|| panic!("{HOST} has no unit {UNIT}"));
    for command in strings(&unit["serviceConfig"]["ExecStartPre"]) {
        let command = command.strip_prefix('+').unwrap_or(command);
        let (program, args) = command.split_once(' ').unwrap();
        let program = Path::new(program).file_name().unwrap().to_str().unwrap();
        common::run_unit_script(&format!("{program} {args}"));
    }
    common::run_unit_script(script)
}

#[test]
fn a_deploy_removes_the_keys_only_an_earlier_deploy_listed() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let config = fixture_config("fleet");
    let project = generated_project_with_config(&config);
    let work = tempfile::tempdir().unwrap();
    // Not there yet: a first deploy with nixos-rebuild, before the operator copies the keys.
    let dir = work.path().join("keys");
    let first = generation(
        project.path(),
        &dir,
        &[
            ("postgres.passwordFile", "retired-key"),
            ("redis.passwordFile", "retired-link"),
        ],
    );
    let second = generation(
        project.path(),
        &dir,
        &[("postgres.passwordFile", "added-key")],
    );
    let unit = &first["units"][UNIT];
    assert!(unit.is_object(), "{HOST} has no unit {UNIT}");
    assert!(
        strings(&unit["wantedBy"]).contains(&"multi-user.target"),
        "{unit}"
    );

    activate(&first);
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "the folder it made");
    upload(&first);
    // One key the first generation listed is a symlink now, to a file outside the folder; a file
    // no generation listed sits beside the keys, and another in a folder inside it.
    let outside = work.path().join("outside");
    std::fs::write(&outside, "not a key").unwrap();
    std::fs::remove_file(dir.join("retired-link")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("retired-link")).unwrap();
    std::fs::write(dir.join("operator-notes"), "kept").unwrap();
    std::fs::create_dir(dir.join("hosts")).unwrap();
    std::fs::write(dir.join("hosts/retired-key"), "kept").unwrap();
    let before = common::tree(&dir);

    upload(&second);
    let log = activate(&second);
    let after = common::tree(&dir);
    assert!(!dir.join("retired-key").exists(), "left on the host");
    assert!(log.contains("retired-key"), "its removal not logged: {log}");
    assert!(dir.join("retired-link").is_symlink());
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "not a key");
    assert_eq!(after[Path::new("operator-notes")], b"kept");
    assert_eq!(after[Path::new("hosts/retired-key")], b"kept");
    for key in second["deployment"]["keys"].as_object().unwrap().values() {
        let path = Path::new(key["path"].as_str().unwrap());
        let name = path.strip_prefix(&dir).unwrap();
        let expected = before
            .get(name)
            .cloned()
            .unwrap_or_else(|| format!("secret of {}", path.display()).into_bytes());
        assert_eq!(after.get(name), Some(&expected), "{}", path.display());
    }
    assert!(after.contains_key(Path::new("added-key")));

    // Activating the same generation again (a reboot) removes nothing more.
    activate(&second);
    assert_eq!(common::tree(&dir), after);
}
