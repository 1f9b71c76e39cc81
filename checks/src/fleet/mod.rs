//! A stack placed on several hosts, run for real: one container per host of the placement, each
//! booting systemd as PID 1 ([`crate::systemd::Machine`]) with the units of its host's evaluation
//! through the generated `nix/fleet.nix` (nixpkgs' real module system, `evaluate-fleet.nix`),
//! all on one Docker network at the placement's addresses, with the secrets `stackr secrets`
//! created installed where colmena would upload them, beside a key an earlier deploy left
//! ([`keys`]).
//!
//! The project is the repository's own (its services are the workspace's binaries), placed as
//! the generator's fleet fixture places its services ([`project`]).

pub mod client;
pub mod keys;
pub mod network;
pub mod project;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

use crate::image::systemd_image;
use crate::systemd::machine::Seat;
use crate::systemd::{render_system, workspace_bin_dir, Machine};
use network::Network;

/// One host of the placement: its evaluated system and the container running it.
pub struct Host {
    pub name: String,
    pub address: String,
    pub system: Value,
    pub machine: Machine,
}

/// Every host, running. Dropping it removes the containers, then the network (also on panic).
pub struct Fleet {
    // Field order is drop order: the containers leave the network before it is removed.
    pub hosts: BTreeMap<String, Host>,
    _network: Network,
    pub project: tempfile::TempDir,
}

impl Fleet {
    /// Creates the project with its hosts at `<prefix>.<n>` (a /24 of the caller's choosing,
    /// which must not clash with the machine's networks), evaluates and renders every host, and
    /// boots one container per host. Call [`Fleet::start`] next.
    pub fn boot(prefix: &str) -> anyhow::Result<Fleet> {
        let project = project::placed_project(prefix)?;
        let modules = stackr_testkit::repo_root().join("modules");
        let json = stackr_testkit::evaluate_fleet_with_host(
            &modules,
            project.path(),
            crate::systemd::store::DEBIAN_POSTGRESQL_HOST,
        )
        .map_err(|e| anyhow::anyhow!("the fleet's evaluation failed:\n{e}"))?;
        let systems: BTreeMap<String, Value> =
            serde_json::from_slice(&json).context("evaluate-fleet.nix printed no JSON")?;
        let network = Network::create(prefix)?;
        let image = systemd_image().to_string();
        let bin = workspace_bin_dir()?;
        let mut hosts = BTreeMap::new();
        for (name, system) in systems {
            let failed = &system["failedAssertions"];
            if !failed.as_array().is_some_and(Vec::is_empty) {
                bail!("host {name} fails its assertions: {failed}");
            }
            let address = system["stackr"]["fleet"]["hosts"][&name]["address"]
                .as_str()
                .context("a host without address")?
                .to_owned();
            let (mut root, adapted) = render_system(&system)?;
            if !adapted.is_empty() {
                eprintln!(
                    "{name}, changed for the container:\n  {}",
                    adapted.join("\n  ")
                );
            }
            root.extend(keys::key_entries(&system, project.path())?);
            root.extend(keys::earlier_deploy_entries(&system)?);
            let known_hosts = known_hosts(&system)?;
            let seat = Seat {
                network: network.name(),
                address: &address,
                host_name: &name,
                known_hosts: &known_hosts,
            };
            let machine = Machine::boot_at(&image, &root, &bin, Some(&seat))
                .with_context(|| format!("booting host {name}"))?;
            hosts.insert(
                name.clone(),
                Host {
                    name,
                    address,
                    system,
                    machine,
                },
            );
        }
        Ok(Fleet {
            hosts,
            _network: network,
            project,
        })
    }

    /// Waits for every host's boot, then starts `multi-user.target` on each: the hosts whose
    /// units others connect to (databases, then auth) first, as an operator would roll out.
    pub fn start(&self, deadline: Duration) -> anyhow::Result<()> {
        for host in self.hosts.values() {
            let state = host.machine.wait_for_boot(deadline)?;
            eprintln!("{}: systemd finished booting: {state}", host.name);
        }
        let mut order: Vec<&Host> = self.hosts.values().collect();
        order.sort_by_key(|h| (!self.serves_stores(h), !self.serves_auth(h)));
        for host in order {
            host.machine
                .sh(&format!(
                    "timeout {} systemctl start multi-user.target",
                    deadline.as_secs()
                ))
                .with_context(|| format!("starting {}:\n{}", host.name, self.diagnostics()))?;
        }
        Ok(())
    }

    pub fn host(&self, name: &str) -> &Host {
        &self.hosts[name]
    }

    /// The host running `service`'s `part` (`api`, `worker`, `postgres`, `redis`).
    pub fn host_of(&self, service: &str, part: &str) -> &Host {
        let any = self.hosts.values().next().expect("a fleet has hosts");
        let name = any.system["stackr"]["fleet"]["services"][service][part]["host"]
            .as_str()
            .unwrap_or_else(|| panic!("{service} has no {part} placed"));
        self.host(name)
    }

    fn serves_stores(&self, host: &Host) -> bool {
        let placed = &host.system["stackr"]["fleet"]["services"];
        placed.as_object().is_some_and(|services| {
            services.values().any(|s| {
                s["postgres"]["host"] == host.name.as_str()
                    || s["redis"]["host"] == host.name.as_str()
            })
        })
    }

    fn serves_auth(&self, host: &Host) -> bool {
        let services = &host.system["stackr"]["services"];
        services.as_object().is_some_and(|services| {
            services.iter().any(|(name, s)| {
                s["kind"] == "auth"
                    && host.system["stackr"]["fleet"]["services"][name]["api"]["host"]
                        == host.name.as_str()
            })
        })
    }

    /// Failed units and the journal's tail of every host, for a failing assertion's message.
    pub fn diagnostics(&self) -> String {
        self.hosts
            .values()
            .map(|h| {
                let seen = h
                    .machine
                    .sh("systemctl --failed --no-pager; journalctl -b --no-pager | tail -n 25")
                    .unwrap_or_else(|e| format!("(no diagnostics: {e:#})"));
                format!("--- {} ---\n{seen}", h.name)
            })
            .collect()
    }
}

/// `networking.hosts` of an evaluated host (address -> names), as name/address pairs.
fn known_hosts(system: &Value) -> anyhow::Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for (address, names) in system["hosts"].as_object().context("no hosts")? {
        for name in names.as_array().context("host names")? {
            pairs.push((
                name.as_str().context("a host name")?.to_owned(),
                address.clone(),
            ));
        }
    }
    Ok(pairs)
}
