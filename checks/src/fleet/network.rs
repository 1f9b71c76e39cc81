//! The Docker network the hosts of a several-host check sit on: a /24 of the check's choosing,
//! labelled with the owning process (so `remove_leftovers` finds it after a killed run), removed
//! on drop.

use std::process::Command;

use anyhow::{bail, Context};

use crate::containers::{remove_leftovers, OWNER_LABEL};

pub struct Network {
    name: String,
}

impl Network {
    /// `<prefix>.0/24` (e.g. `10.231.47`), named after this process and the prefix.
    pub fn create(prefix: &str) -> anyhow::Result<Network> {
        remove_leftovers();
        let name = format!(
            "stackr-checks-{}-{}",
            std::process::id(),
            prefix.replace('.', "-")
        );
        let output = Command::new("docker")
            .args([
                "network",
                "create",
                "--subnet",
                &format!("{prefix}.0/24"),
                "--label",
                &format!("{OWNER_LABEL}={}", std::process::id()),
                &name,
            ])
            .output()
            .context("running docker network create")?;
        if !output.status.success() {
            bail!(
                "cannot create the Docker network {prefix}.0/24 (does it clash with one of this machine's?): {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(Network { name })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["network", "rm", &self.name])
            .output();
    }
}
