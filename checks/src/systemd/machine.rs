//! A Docker container booting systemd as PID 1 from the locally built image
//! (`checks/image/build.sh systemd`), with a rendered system copied in before it boots.
//!
//! Run with the least Docker allows systemd here: `CAP_SYS_ADMIN` (mounts for the sandboxing
//! settings), tmpfs on /run and /run/lock, and the host's cgroup tree writable (systemd makes a
//! cgroup per unit). `--privileged` is not used: it needs capabilities some hosts withhold.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::render::Entry;
use super::store::WORKSPACE_PACKAGE;
use crate::containers::{remove_leftovers, OWNER_LABEL};

pub struct Machine {
    id: String,
}

/// Where a host of a stack placed on several hosts sits: its name, and its address on a Docker
/// network. Such a container also gets `CAP_NET_ADMIN`, which nixpkgs' firewall unit needs (it is
/// skipped without it).
pub struct Seat<'a> {
    pub network: &'a str,
    pub address: &'a str,
    pub host_name: &'a str,
    /// Name and address of every host (`networking.hosts`), written to /etc/hosts by Docker.
    pub known_hosts: &'a [(String, String)],
}

impl Machine {
    /// Creates the container, copies `root` (paths relative to `/`) into it, mounts
    /// `workspace_bin` read-only as the workspace package's `bin/`, and starts systemd.
    pub fn boot(
        image: &str,
        root: &BTreeMap<String, Entry>,
        workspace_bin: &Path,
    ) -> anyhow::Result<Machine> {
        Machine::boot_at(image, root, workspace_bin, None)
    }

    /// As [`Machine::boot`], on `seat`'s network at its address, with its host name.
    pub fn boot_at(
        image: &str,
        root: &BTreeMap<String, Entry>,
        workspace_bin: &Path,
        seat: Option<&Seat>,
    ) -> anyhow::Result<Machine> {
        remove_leftovers();
        let staging = tempfile::tempdir()?;
        for (path, entry) in root {
            let at = staging.path().join(path);
            std::fs::create_dir_all(at.parent().expect("entries are below the root"))?;
            match entry {
                Entry::File {
                    content,
                    executable,
                } => {
                    std::fs::write(&at, content)?;
                    let mode = if *executable { 0o755 } else { 0o644 };
                    std::fs::set_permissions(&at, std::fs::Permissions::from_mode(mode))?;
                }
                Entry::Private { content } => {
                    std::fs::write(&at, content)?;
                    std::fs::set_permissions(&at, std::fs::Permissions::from_mode(0o400))?;
                }
                Entry::Symlink { target } => std::os::unix::fs::symlink(target, &at)?,
            }
        }
        let owner = format!("{OWNER_LABEL}={}", std::process::id());
        let binaries = format!("{}:{WORKSPACE_PACKAGE}/bin:ro", workspace_bin.display());
        let mut add_hosts = Vec::new();
        let mut create = vec![
            "create",
            "--label",
            &owner,
            "--cap-add",
            "SYS_ADMIN",
            // systemd's halt signal (`docker import` cannot record it in the image).
            "--stop-signal",
            "SIGRTMIN+3",
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/run/lock",
            "-v",
            "/sys/fs/cgroup:/sys/fs/cgroup:rw",
            "-v",
            &binaries,
        ];
        if let Some(seat) = seat {
            create.extend([
                "--network",
                seat.network,
                "--ip",
                seat.address,
                "--hostname",
                seat.host_name,
                "--cap-add",
                "NET_ADMIN",
            ]);
            for (name, address) in seat.known_hosts {
                add_hosts.push(format!("{name}:{address}"));
            }
        }
        for entry in &add_hosts {
            create.extend(["--add-host", entry]);
        }
        create.push(image);
        let id = docker(&create)?.trim().to_owned();
        let machine = Machine { id };
        docker(&[
            "cp",
            &format!("{}/.", staging.path().display()),
            &format!("{}:/", machine.id),
        ])?;
        docker(&["start", &machine.id])?;
        Ok(machine)
    }

    /// Runs `script` with bash in the container, as root; its stdout, or an error with its output.
    pub fn sh(&self, script: &str) -> anyhow::Result<String> {
        let output = self.run(script)?;
        if !output.status.success() {
            bail!(
                "in the container, `{script}` failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs `script` with bash in the container and returns its whole output, whatever its status.
    pub fn run(&self, script: &str) -> anyhow::Result<Output> {
        Command::new("docker")
            .args(["exec", &self.id, "bash", "-c", script])
            .output()
            .context("running docker exec")
    }

    /// Runs `script` in the container: its trimmed stdout when it succeeds, else its trimmed
    /// stderr (a refusal a check expects, such as a login another role may not make). Panics
    /// when docker itself fails, so that such a failure never passes for a refusal.
    pub fn outcome(&self, script: &str) -> Result<String, String> {
        let output = self
            .run(script)
            .unwrap_or_else(|e| panic!("docker exec: {e:#}"));
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
        }
    }

    /// Runs `script` with bash in the container with `input` on its stdin (so that a value such as
    /// a session cookie is in no command line); its whole output.
    pub fn run_with_input(&self, script: &str, input: &[u8]) -> anyhow::Result<Output> {
        use std::io::Write;
        let mut child = Command::new("docker")
            .args(["exec", "-i", &self.id, "bash", "-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .context("running docker exec")?;
        child.stdin.take().context("no stdin")?.write_all(input)?;
        child.wait_with_output().context("waiting for docker exec")
    }

    /// Waits until systemd has finished booting (`is-system-running` is no longer `starting`).
    pub fn wait_for_boot(&self, deadline: Duration) -> anyhow::Result<String> {
        let started = Instant::now();
        loop {
            // Before systemd has set up its bus the command prints nothing (its error goes to
            // stderr): keep waiting, as for the states of a boot in progress.
            if let Ok(output) = self.run("systemctl is-system-running") {
                let state = String::from_utf8_lossy(&output.stdout).trim().to_owned();
                if !["", "offline", "initializing", "starting"].contains(&state.as_str()) {
                    return Ok(state);
                }
            }
            if started.elapsed() > deadline {
                bail!(
                    "systemd did not finish booting within {deadline:?}; jobs:\n{}",
                    self.sh("systemctl list-jobs --no-pager")
                        .unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The container's address on Docker's network (what a remote peer would connect to).
    pub fn address(&self) -> anyhow::Result<String> {
        let address = docker(&[
            "inspect",
            "--format",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            &self.id,
        ])?;
        Ok(address.trim().to_owned())
    }

    /// A reboot: the container stops (systemd shuts every unit down) and starts again with its
    /// file system as it was.
    pub fn reboot(&self) -> anyhow::Result<()> {
        docker(&["restart", "--time", "120", &self.id])?;
        Ok(())
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.id])
            .output();
    }
}

fn docker(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("docker")
        .args(args)
        .output()
        .context("running docker")?;
    if !output.status.success() {
        bail!(
            "docker {} failed: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
