//! The oneshots that run as root to write secret files (`stackr-secrets` on a single host with
//! `stackr.secrets.generate`, `stackr-stale-keys` on a fleet host) are sandboxed as the services'
//! processes are (modules/hardening.nix), with no network, and may write only the folders of the
//! files they handle; those that restart an API's sockets (`stackr-<name>-api-sockets`) the same,
//! with nothing writable and no home folder. Evaluated with nixpkgs' real module system, as tests/it/nixos_eval.rs does;
//! checks/tests/it/nixos_under_systemd.rs and fleet_under_systemd.rs run them under systemd.
//! Skipped when nix-instantiate is not installed.

use crate::common;

use common::nixos::{evaluate_fleet_with_host, minimal_system, strings};
use common::{fixture_config, generated_project, nix_instantiate_available};
use serde_json::{json, Value};

/// The settings every such oneshot has, whichever it is, with home folders read-only.
fn sandbox_violations(unit_name: &str, unit: &Value) -> Vec<String> {
    sandbox_violations_with_home(unit_name, unit, json!("read-only"))
}

/// [`sandbox_violations`] with `ProtectHome` as `home`.
fn sandbox_violations_with_home(unit_name: &str, unit: &Value, home: Value) -> Vec<String> {
    let config = &unit["serviceConfig"];
    let mut found = Vec::new();
    for (key, wanted) in [
        ("ProtectSystem", json!("strict")),
        ("ProtectHome", home),
        ("PrivateTmp", json!(true)),
        ("PrivateDevices", json!(true)),
        ("PrivateNetwork", json!(true)),
        ("NoNewPrivileges", json!(true)),
        ("ProtectKernelTunables", json!(true)),
        ("ProtectKernelModules", json!(true)),
        ("ProtectKernelLogs", json!(true)),
        ("ProtectControlGroups", json!(true)),
        ("ProtectClock", json!(true)),
        ("ProtectHostname", json!(true)),
        ("RestrictAddressFamilies", json!(["AF_UNIX"])),
        ("RestrictNamespaces", json!(true)),
        ("RestrictRealtime", json!(true)),
        ("RestrictSUIDSGID", json!(true)),
        ("LockPersonality", json!(true)),
        ("MemoryDenyWriteExecute", json!(true)),
        ("SystemCallArchitectures", json!("native")),
        ("UMask", json!("0077")),
    ] {
        if config[key] != wanted {
            found.push(format!(
                "{unit_name}: {key} is {}, not {wanted}",
                config[key]
            ));
        }
    }
    let filter = strings(&config["SystemCallFilter"]);
    if !filter.contains(&"@system-service") || !filter.contains(&"~@privileged") {
        found.push(format!("{unit_name}: SystemCallFilter {filter:?}"));
    }
    if !config["User"].is_null() {
        found.push(format!("{unit_name}: runs as {}, not root", config["User"]));
    }
    found
}

/// The `+` commands a unit runs before its script, outside its sandbox.
fn privileged_pre_start(unit: &Value) -> Vec<&str> {
    strings(&unit["serviceConfig"]["ExecStartPre"])
        .into_iter()
        .filter(|c| c.starts_with('+'))
        .collect()
}

#[test]
fn the_secrets_oneshot_is_sandboxed_and_writes_only_its_folders() {
    let Some(system) = minimal_system("{ stackr.secrets.generate = true; }") else {
        return;
    };
    let unit = &system["units"]["stackr-secrets"];
    assert_eq!(
        sandbox_violations("stackr-secrets", unit),
        Vec::<String>::new()
    );
    let config = &unit["serviceConfig"];
    // Root's files in root's folders: no capability, and no other user's files to see.
    assert_eq!(config["CapabilityBoundingSet"], "", "{config}");
    assert_eq!(config["PrivateUsers"], true, "{config}");
    // Every file in its state folder, which systemd makes and opens for writing: nothing else
    // writable, nothing run outside the sandbox.
    assert_eq!(config["StateDirectory"], "stackr/secrets");
    assert!(config["ReadWritePaths"].is_null(), "{config}");
    assert!(privileged_pre_start(unit).is_empty(), "{config}");

    // A secret kept elsewhere: its folder (made first, as the script no longer can) is writable,
    // quoted as systemd reads it, and ignored while missing (systemd applies it to the command
    // that makes it, which would fail on it otherwise).
    let system = minimal_system(
        "{ stackr.secrets.generate = true; stackr.auth.secretFile = \"/var/keys/my keys/auth-secret\"; }",
    )
    .unwrap();
    let unit = &system["units"]["stackr-secrets"];
    let config = &unit["serviceConfig"];
    assert_eq!(config["ReadWritePaths"], json!(["\"-/var/keys/my keys\""]));
    let made = privileged_pre_start(unit);
    assert!(
        made.len() == 1
            && made[0].starts_with("+/nix/store/")
            && made[0].ends_with("/bin/mkdir -p -- \"/var/keys/my keys\""),
        "{made:?}"
    );
    assert_eq!(
        sandbox_violations("stackr-secrets", unit),
        Vec::<String>::new()
    );

    // The sandbox's settings are defaults: a host relaxes one without lib.mkForce.
    let relaxed = minimal_system(
        "{ stackr.secrets.generate = true; systemd.services.stackr-secrets.serviceConfig.PrivateNetwork = false; }",
    )
    .unwrap();
    assert_eq!(
        relaxed["units"]["stackr-secrets"]["serviceConfig"]["PrivateNetwork"],
        false
    );
}

#[test]
fn the_stale_keys_oneshot_is_sandboxed_and_writes_only_the_key_folder() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let project = generated_project(&fixture_config("fleet"));
    let fleet = evaluate_fleet_with_host(project.path(), "{ }");
    let hosts = fleet.as_object().unwrap();
    assert!(!hosts.is_empty());
    for (host, system) in hosts {
        let name = format!("{host}: stackr-stale-keys");
        let unit = &system["units"]["stackr-stale-keys"];
        assert!(unit.is_object(), "{name} missing");
        assert_eq!(sandbox_violations(&name, unit), Vec::<String>::new());
        let config = &unit["serviceConfig"];
        // The key folder may be another user's (keys copied by hand with their owner kept): one
        // capability, to write in it, and the host's users, for the capability to apply there.
        assert_eq!(
            config["CapabilityBoundingSet"], "CAP_DAC_OVERRIDE",
            "{name}"
        );
        assert_eq!(config["PrivateUsers"], false, "{name}");
        let dir = system["stackr"]["secretsDir"].as_str().unwrap();
        assert_eq!(
            config["ReadWritePaths"],
            json!([format!("\"-{dir}\"")]),
            "{name}"
        );
        let made = privileged_pre_start(unit);
        assert!(
            made.len() == 1 && made[0].ends_with(&format!("/bin/mkdir -p -m 0700 -- \"{dir}\"")),
            "{name}: {made:?}"
        );
    }
}

/// Each `stackr-<name>-api-sockets` oneshot (root: its reload runs `systemctl restart`, which
/// needs it without polkit) is sandboxed as the file writers are, with home folders hidden and no
/// folder writable, on a single host and on every fleet host; and, as every sandbox setting, a
/// host relaxes one without `lib.mkForce`. Where it ran with no sandbox at all.
#[test]
fn the_sockets_oneshots_are_sandboxed_and_write_nothing() {
    let Some(single) = minimal_system("{ }") else {
        return;
    };
    let project = generated_project(&fixture_config("fleet"));
    let fleet = evaluate_fleet_with_host(project.path(), "{ }");
    let mut checked = 0;
    for (host, system) in std::iter::once(("single host", &single)).chain(
        fleet
            .as_object()
            .unwrap()
            .iter()
            .map(|(h, s)| (h.as_str(), s)),
    ) {
        for (name, unit) in system["units"].as_object().unwrap() {
            if !name.ends_with("-sockets") {
                continue;
            }
            checked += 1;
            let name = format!("{host}: {name}");
            assert_eq!(
                sandbox_violations_with_home(&name, unit, json!(true)),
                Vec::<String>::new()
            );
            let config = &unit["serviceConfig"];
            assert_eq!(config["CapabilityBoundingSet"], "", "{name}");
            assert!(config["ReadWritePaths"].is_null(), "{name}: {config}");
            assert!(config["StateDirectory"].is_null(), "{name}: {config}");
            assert!(privileged_pre_start(unit).is_empty(), "{name}: {config}");
        }
    }
    assert!(checked >= 4, "only {checked} sockets oneshots");

    let relaxed = minimal_system(
        "{ systemd.services.stackr-core-api-sockets.serviceConfig.PrivateNetwork = false; }",
    )
    .unwrap();
    assert_eq!(
        relaxed["units"]["stackr-core-api-sockets"]["serviceConfig"]["PrivateNetwork"],
        false
    );
}
