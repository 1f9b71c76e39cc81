//! The project a several-host check deploys: the repository's own `stackr.config.json` (its
//! services are the workspace's binaries) with the placement of the generator's fleet fixture,
//! each host's address moved into the check's own /24. Generated in a temporary folder, with the
//! secrets `stackr secrets` creates there.

use anyhow::{bail, Context};
use serde_json::Value;
use stackr::commands::secrets::{self, CaAction};

use crate::systemd::project::{changed_project, read_json};

/// The placement's single source: the generator's four-host fixture.
pub const PLACEMENT_FIXTURE: &str = "generator/tests/fixtures/fleet/stackr.config.json";

/// The project in a temporary folder: config, generated files and deployment secrets.
pub fn placed_project(prefix: &str) -> anyhow::Result<tempfile::TempDir> {
    let fixture = read_json(&stackr_testkit::repo_root().join(PLACEMENT_FIXTURE))?;
    let dir = changed_project(|config| {
        config["placement"] = placement_at(&fixture["placement"], prefix)?;
        Ok(())
    })?;
    // `stackr secrets` creates secrets only in a git repository (what keeps them out of the Nix
    // store), as `stackr init` makes a project.
    anyhow::ensure!(
        stackr::git_repository::start(dir.path())?,
        "git is not installed"
    );
    secrets::run(dir.path(), CaAction::Keep)?;
    Ok(dir)
}

/// `placement` with each host's address `a.b.c.d` moved to `<prefix>.d`.
fn placement_at(placement: &Value, prefix: &str) -> anyhow::Result<Value> {
    let mut placement = placement.clone();
    let hosts = placement["hosts"]
        .as_array_mut()
        .context("the fixture's placement has no hosts")?;
    for host in hosts {
        let address = host["address"].as_str().context("a host without address")?;
        let Some((_, last)) = address.rsplit_once('.') else {
            bail!("{address} is not an IPv4 address");
        };
        host["address"] = Value::String(format!("{prefix}.{last}"));
    }
    Ok(placement)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_every_address_into_the_prefix_and_refuses_a_non_ipv4_one() {
        let placement = serde_json::json!({ "hosts": [
            { "name": "a", "address": "10.0.0.10" }, { "name": "b", "address": "10.0.0.20" } ] });
        let moved = placement_at(&placement, "10.231.47").unwrap();
        assert_eq!(moved["hosts"][0]["address"], "10.231.47.10");
        assert_eq!(moved["hosts"][1]["address"], "10.231.47.20");
        let bad = serde_json::json!({ "hosts": [ { "name": "a", "address": "fd00::1" } ] });
        assert!(placement_at(&bad, "10.231.47").is_err());
    }
}
