//! The generated project the benchmark runs: made by `stackr init`, grown with `stackr add
//! service`.
//!
//! Binaries: auth and the first base service are built (in this worktree's target folder, where
//! the dependencies already are); every other base service runs the first one's binaries under
//! its own name. All base services are scaffolded alike (same guard, same runtime), so they cost
//! the same to run, while building 25 debug services would take 50 links of ~135 MB each: more
//! disk and time than a shared 2-core machine has. For the same reason the stack's own `build`
//! process (`cargo build --workspace --bins`) is replaced by a no-op `cargo` on its PATH: its
//! no-op run is not in the timed starts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::common::{self, local_build};

/// Dev ports of the benchmark's stacks, away from the defaults (8080, 8888, 15440, 17380) a
/// developer's own `stackr dev` may be holding on the same machine.
pub const POSTGRES_PORT_START: u16 = 25440;
pub const REDIS_PORT_START: u16 = 27380;
const API_PORT_START: u16 = 28080;
const AUTH_PORT: u16 = 28888;
const AUTH_ADMIN_PORT: u16 = 23333;

pub struct Project {
    /// Holds the project, the binaries' folder and the no-op `cargo`.
    parent: PathBuf,
    pub root: PathBuf,
    /// Base services, in the config's order (auth comes first in the config, before them).
    pub services: Vec<String>,
}

fn service_name(i: usize) -> String {
    format!("s{i}")
}

/// Runs `stackr ARGS` in `root` and fails the benchmark with its stderr if it fails.
fn stackr(root: &Path, args: &[&str]) {
    let out = common::stackr(root, args);
    assert!(
        out.status.success(),
        "stackr {}: {}",
        args.join(" "),
        common::stderr(&out)
    );
}

impl Project {
    /// `stackr init bench` with one base service, moved to the benchmark's ports and to this
    /// repository's runtime crates (so cargo reuses what this worktree compiled).
    pub fn new() -> Self {
        // The same path on every run, so cargo reuses the services it built last time.
        let parent = std::env::temp_dir().join("stackr-dev-stack-bench");
        if parent.exists() {
            std::fs::remove_dir_all(&parent).expect("delete the last run's project");
        }
        std::fs::create_dir_all(&parent).unwrap();
        // As root the PostgreSQL servers run as `postgres`, which must traverse the folder.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o755)).unwrap();
        let first = service_name(1);
        stackr(&parent, &["init", "bench", "--with-services", &first]);
        let root = parent.join("bench");
        let path = root.join("stackr.config.json");
        let mut config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        config["dev"]["postgresPortStart"] = POSTGRES_PORT_START.into();
        config["dev"]["redisPortStart"] = REDIS_PORT_START.into();
        for service in config["services"].as_array_mut().unwrap() {
            if service["kind"] == "auth" {
                service["port"] = AUTH_PORT.into();
                service["adminPort"] = AUTH_ADMIN_PORT.into();
            } else {
                service["port"] = (API_PORT_START + 1).into();
            }
        }
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap() + "\n").unwrap();
        // Regenerates with the new ports and points the services at this repository's runtime.
        local_build::use_local_runtime(&root);
        let no_build = parent.join("no-build");
        std::fs::create_dir_all(&no_build).unwrap();
        let cargo = no_build.join("cargo");
        std::fs::write(
            &cargo,
            "#!/bin/sh\n# The benchmark built the binaries before timing.\nexit 0\n",
        )
        .unwrap();
        std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
        let project = Project {
            parent,
            root,
            services: vec![first],
        };
        project.build();
        project
    }

    /// Adds base services with `stackr add service` until there are `count`.
    pub fn grow_to(&mut self, count: usize) {
        for i in self.services.len() + 1..=count {
            let name = service_name(i);
            let port = (API_PORT_START + i as u16).to_string();
            stackr(&self.root, &["add", "service", &name, "--port", &port]);
            self.services.push(name);
        }
    }

    /// Builds auth's and the first base service's binaries.
    fn build(&self) {
        let started = Instant::now();
        let out = self
            .cargo()
            .args(["build", "--quiet", "--bins", "-p", "auth-service", "-p"])
            .arg(format!("{}-service", self.services[0]))
            .output()
            .expect("running cargo");
        assert!(
            out.status.success(),
            "cargo build failed:\n{}",
            common::stderr(&out)
        );
        eprintln!(
            "(built auth and {} in {:.0}s, untimed)",
            self.services[0],
            started.elapsed().as_secs_f64()
        );
    }

    /// The stack's `${CARGO_TARGET_DIR:-target}/debug/…` programs: auth's and the first
    /// service's as built, every other service's a link to the first one's.
    pub fn link_binaries(&self) {
        let built = Self::target_dir().join("debug");
        let debug = self.bin_target_dir().join("debug");
        std::fs::create_dir_all(&debug).unwrap();
        let first = &self.services[0];
        let mut links = vec![("auth-api".to_owned(), "auth-api".to_owned())];
        for service in &self.services {
            links.push((format!("{service}-api"), format!("{first}-api")));
            links.push((format!("{service}-worker"), format!("{first}-worker")));
        }
        for (name, program) in links {
            let link = debug.join(name);
            if !link.exists() {
                std::os::unix::fs::symlink(built.join(program), link).unwrap();
            }
        }
    }

    /// `CARGO_TARGET_DIR` of the stack: where [`Project::link_binaries`] puts the programs.
    pub fn bin_target_dir(&self) -> PathBuf {
        self.parent.join("bin-target")
    }

    /// Prepended to the stack's PATH: holds the no-op `cargo` its `build` process runs.
    pub fn no_build_dir(&self) -> PathBuf {
        self.parent.join("no-build")
    }

    /// A command in the project root whose cargo builds land in this worktree's target folder.
    fn cargo(&self) -> Command {
        let mut command = local_build::in_shared_target(Command::new("cargo"));
        command
            .current_dir(&self.root)
            .env("CARGO_NET_OFFLINE", "true")
            // No incremental caches: the disk of a shared machine is short.
            .env("CARGO_INCREMENTAL", "0");
        command
    }

    /// This worktree's target folder, where auth and the first service are built.
    fn target_dir() -> PathBuf {
        Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap()
            .to_owned()
    }

    /// Deletes the project, its binaries' folder and its state.
    pub fn remove(self) {
        let _ = std::fs::remove_dir_all(&self.parent);
    }

    /// The dev state folder (`.stackr`): deleted for a cold start.
    pub fn wipe_state(&self) {
        let state = self.root.join(".stackr");
        if state.exists() {
            std::fs::remove_dir_all(&state).expect("delete the state folder");
        }
    }

    /// Every service of the stack (auth first) with its dev PostgreSQL and Redis ports: the
    /// generator gives the n-th service of the config the n-th port of each range.
    pub fn server_ports(&self) -> Vec<(String, u16, u16)> {
        std::iter::once("auth".to_owned())
            .chain(self.services.iter().cloned())
            .enumerate()
            .map(|(i, name)| {
                let i = i as u16;
                (name, POSTGRES_PORT_START + i, REDIS_PORT_START + i)
            })
            .collect()
    }
}
