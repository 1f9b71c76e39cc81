//! The fleet's VM test (`vmTest` of the generated nix/fleet.nix: nixpkgs' runNixOSTest with one
//! VM per host, for users with KVM), evaluated with nixpkgs' real module system for the
//! four-host fixture (tests/nixos/evaluate-fleet-vm-test.nix), then its test script run by a
//! stand-in for the test driver (tests/nixos/fake_test_driver.py) whose network follows each
//! host's evaluated firewall: every VM sits at its placement address and resolves every host name
//! there; the secrets it makes are of the deployment's shape, one folder per host holding exactly
//! what that host's units read, in place before the VMs start; it waits for every API replica
//! and worker of every host and expects exactly the store connections the firewalls allow.
//! Skipped when nix-instantiate is not installed.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

use common::nixos::{evaluate_fleet, evaluate_fleet_vm_test, strings};
use common::{fixture_config, generated_project_with_config, nix_instantiate_available};
use serde_json::{json, Value};

fn openings(system: &Value) -> Vec<(u16, String)> {
    system["firewallCommands"]
        .as_str()
        .unwrap()
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let after = |flag: &str| {
                words
                    .iter()
                    .position(|w| *w == flag)
                    .map(|at| words[at + 1])
            };
            Some((after("--dport")?.parse().ok()?, after("-s")?.to_owned()))
        })
        .collect()
}

/// Runs `script` with the stand-in driver; what each machine recorded.
fn run_script(script: &str, hosts: &BTreeMap<String, Value>, work: &Path) -> Value {
    let hosts: BTreeMap<&String, Value> = hosts
        .iter()
        .map(|(name, system)| {
            let address = &system["stackr"]["fleet"]["hosts"][name]["address"];
            (
                name,
                json!({ "address": address, "openings": openings(system) }),
            )
        })
        .collect();
    let spec = json!({ "script": script, "work": work, "hosts": hosts });
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nixos/fake_test_driver.py");
    let mut child = Command::new("python3")
        .arg(driver)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    serde_json::to_writer(child.stdin.take().unwrap(), &spec).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the test script failed under the stand-in driver:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn openssl_verifies(ca: &Path, cert: &Path, name: &str, address: &str) -> bool {
    Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(ca)
        .args(["-verify_hostname", name, "-verify_ip", address])
        .arg(cert)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn every_host_runs_in_its_own_vm_with_its_own_keys() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let config = fixture_config("fleet");
    let project = generated_project_with_config(&config);
    let hosts: BTreeMap<String, Value> = evaluate_fleet(project.path())
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, system)| (name.clone(), system.clone()))
        .collect();
    let test = evaluate_fleet_vm_test(project.path());
    assert_eq!(test["name"], "stackr-fleet");

    let nodes = test["nodes"].as_object().unwrap();
    assert_eq!(
        nodes.keys().collect::<BTreeSet<_>>(),
        hosts.keys().collect::<BTreeSet<_>>()
    );
    let address = |host: &str| {
        hosts[host]["stackr"]["fleet"]["hosts"][host]["address"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for (name, node) in nodes {
        assert!(
            strings(&node["failedAssertions"]).is_empty(),
            "{name}: {}",
            node["failedAssertions"]
        );
        let eth1 = &node["interfaces"]["eth1"]["ipv4"];
        assert_eq!(
            eth1["addresses"],
            json!([{ "address": address(name), "prefixLength": 32 }]),
            "{name}: only its placement address"
        );
        let routes: BTreeSet<String> = eth1["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["address"].as_str().unwrap().to_owned())
            .collect();
        let others: BTreeSet<String> = hosts
            .keys()
            .filter(|h| *h != name)
            .map(|h| address(h))
            .collect();
        assert_eq!(routes, others, "{name}: a route to every other host");
        assert_eq!(
            node["extraHosts"], "",
            "{name}: names resolve by the fleet's hosts only"
        );
        assert_eq!(node["hosts"], hosts[name]["hosts"], "{name}");
        let secrets = node["secretsDir"].as_str().unwrap();
        let shared = &node["sharedDirectories"]["stackr-keys"];
        assert_eq!(shared["target"], secrets, "{name}");
        assert!(
            shared["source"].as_str().unwrap().contains("$TMPDIR"),
            "{name}: {shared}"
        );
        assert_eq!(
            node["fileSystems"][secrets]["neededForBoot"], true,
            "{name}"
        );
        // What colmena uploads to the host is what the VM gets.
        let uploaded: BTreeSet<&str> = hosts[name]["deployment"]["keys"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let key_files: BTreeSet<&str> = strings(&node["keyFiles"]).into_iter().collect();
        assert_eq!(key_files, uploaded, "{name}");
    }

    let work = tempfile::tempdir().unwrap();
    let ran = run_script(test["testScript"].as_str().unwrap(), &hosts, work.path());
    let ca = work.path().join("stackr-fleet-secrets/ca.crt");
    let mut passwords: BTreeMap<String, String> = BTreeMap::new();
    for (name, node) in nodes {
        let machine = &ran[name];
        // Every API replica and worker placed on the host, and nothing else.
        let units: BTreeSet<String> = hosts[name]["units"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|u| {
                let role = u.rsplit('-').nth(1);
                u.starts_with("stackr-") && matches!(role, Some("api" | "worker"))
            })
            .map(|u| format!("{u}.service"))
            .collect();
        let waited: BTreeSet<String> = strings(&machine["waited"])
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(waited, units, "{name}: units waited for");
        // Each host's own keys, private, in place before the VMs start.
        let keys = machine["keys"].as_object().expect("keys at start_all");
        assert_eq!(
            keys.keys().map(String::as_str).collect::<BTreeSet<_>>(),
            strings(&node["keyFiles"])
                .into_iter()
                .collect::<BTreeSet<_>>(),
            "{name}: key files at start"
        );
        assert!(
            keys.values().all(|mode| mode == "0o400"),
            "{name}: {keys:?}"
        );
        let folder = work.path().join(format!("vm-state-{name}/stackr-keys"));
        for file in keys.keys() {
            let content = std::fs::read_to_string(folder.join(file)).unwrap();
            match file.as_str() {
                "tls-host.crt" => assert!(
                    openssl_verifies(&ca, &folder.join(file), name, &address(name)),
                    "{name}: its certificate does not verify for its name and address"
                ),
                "tls-host.key" => assert!(content.contains("PRIVATE KEY"), "{name}"),
                "tls-ca.crt" => assert_eq!(content, std::fs::read_to_string(&ca).unwrap()),
                _ => {
                    assert!(content.len() >= 32, "{name} {file}: a short secret");
                    let first = passwords.entry(file.clone()).or_insert(content.clone());
                    assert_eq!(*first, content, "{file} differs between hosts");
                }
            }
        }
    }
    let waited_for: usize = ran
        .as_object()
        .unwrap()
        .values()
        .map(|m| m["waited"].as_array().unwrap().len())
        .sum();
    assert!(
        waited_for >= 8,
        "2 API replicas and 2 workers of each service, and auth"
    );
    let distinct: BTreeSet<&String> = passwords.values().collect();
    assert_eq!(distinct.len(), passwords.len(), "two secrets share a value");
    // The script asked for store connections across hosts, and expected what the firewalls do
    // (the stand-in's answers follow them; a wrong expectation fails the script above).
    let probes = ran
        .as_object()
        .unwrap()
        .values()
        .flat_map(|m| strings(&m["commands"]))
        .filter(|c| c.contains("/dev/tcp/"))
        .count();
    assert!(probes >= 4, "only {probes} store connections tried");
}
