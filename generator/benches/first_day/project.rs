//! The project a new user makes on day one: `stackr init` with two base services (three services
//! with auth), in a folder outside this repository, built by cargo as the user would run it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common;

/// Base services `init` creates (auth is the third service).
pub const BASE_SERVICES: [&str; 2] = ["core", "wallet"];
/// The service whose handler the bench edits.
pub const EDITED: &str = "core";
/// Dev ports of the bench's stack, away from the defaults a developer's own `stackr dev` may hold
/// on the same machine and below Linux's ephemeral range.
const POSTGRES_PORT_START: u16 = 21440;
const REDIS_PORT_START: u16 = 21540;
const API_PORT_START: u16 = 21640;
const AUTH_PORT: u16 = 21888;
const AUTH_ADMIN_PORT: u16 = 21999;

pub struct Project {
    /// The folder `init` ran in: deleted at the end, with the project's own `target/`.
    parent: PathBuf,
    pub root: PathBuf,
}

/// One `cargo build`: its wall time, the CPU time of cargo and the compilers it ran (user +
/// system), and the crates it compiled.
pub struct Build {
    pub took: Duration,
    pub cpu: Duration,
    pub compiled: usize,
}

impl Project {
    pub fn init() -> Self {
        let parent = std::env::temp_dir().join("stackr-first-day-bench");
        if parent.exists() {
            std::fs::remove_dir_all(&parent).expect("delete the last run's project");
        }
        std::fs::create_dir_all(&parent).unwrap();
        // As root the PostgreSQL servers run as `postgres`, which must traverse the folder.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o755)).unwrap();
        let services = BASE_SERVICES.join(",");
        stackr(
            &parent,
            &["init", "shop", "--defaults", "--with-services", &services],
        );
        let root = parent.join("shop");
        move_ports(&root);
        stackr(&root, &["generate"]);
        let project = Project { parent, root };
        project.fetch();
        project
    }

    /// Downloads what the project needs into the registry cache, untimed, so the timed builds
    /// compile and link only: on a machine that never built these crates (a fresh CI box) the
    /// cache lacks some of them.
    fn fetch(&self) {
        let mut command = Command::new("cargo");
        stackr_testkit::without_cargo_package_env(&mut command);
        let out = command
            .current_dir(&self.root)
            .arg("fetch")
            .output()
            .expect("running cargo fetch");
        assert!(
            out.status.success(),
            "cargo fetch failed:\n{}",
            common::stderr(&out)
        );
    }

    /// `cargo build` in the project root, as the user runs it (their own `target/`, incremental
    /// builds on, no flags), offline: the registry cache holds every crate, so the time is
    /// compiling and linking, not downloading.
    pub fn cargo_build(&self) -> Build {
        self.build_with(&["build"])
    }

    /// The stack's `build` process on its own: `cargo build --workspace --bins`.
    pub fn stack_build(&self) -> Build {
        self.build_with(&["build", "--workspace", "--bins"])
    }

    fn build_with(&self, args: &[&str]) -> Build {
        let cpu_before = children_cpu();
        let started = Instant::now();
        let out = self.cargo().args(args).output().expect("running cargo");
        let took = started.elapsed();
        let cpu = children_cpu() - cpu_before;
        assert!(
            out.status.success(),
            "cargo build failed:\n{}",
            common::stderr(&out)
        );
        let compiled = common::stderr(&out)
            .lines()
            .filter(|l| l.trim_start().starts_with("Compiling "))
            .count();
        Build {
            took,
            cpu,
            compiled,
        }
    }

    /// The edit a user makes first: a change to one route handler of [`EDITED`].
    pub fn edit_handler(&self) {
        let path = self
            .root
            .join(format!("services/{EDITED}/src/domain/mod.rs"));
        let text = std::fs::read_to_string(&path).unwrap();
        let from = "ORDER BY id\"";
        assert!(text.contains(from), "{} has no `{from}`", path.display());
        std::fs::write(&path, text.replace(from, "ORDER BY id DESC\"")).unwrap();
    }

    fn cargo(&self) -> Command {
        let mut command = Command::new("cargo");
        stackr_testkit::without_cargo_package_env(&mut command);
        command
            .current_dir(&self.root)
            .env("CARGO_NET_OFFLINE", "true");
        command
    }

    /// Deletes the project and everything it built.
    pub fn remove(self) {
        let _ = std::fs::remove_dir_all(&self.parent);
    }
}

/// Drops from this process's environment what `cargo bench` (or the shell running it) set and a
/// user's shell does not: a shared target folder, incremental mode, flags. Every cargo the bench
/// runs, directly or as the stack's `build` process, then builds as the user's would. Called
/// first, while the bench has one thread.
pub fn use_user_environment() {
    for name in [
        "CARGO_TARGET_DIR",
        "CARGO_INCREMENTAL",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        std::env::remove_var(name);
    }
}

/// User + system CPU time of this process's waited-for children (and theirs).
fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn stackr(dir: &Path, args: &[&str]) -> Output {
    let out = common::stackr(dir, args);
    assert!(
        out.status.success(),
        "stackr {}: {}",
        args.join(" "),
        common::stderr(&out)
    );
    out
}

/// Moves the stack to the bench's ports (see [`POSTGRES_PORT_START`]).
fn move_ports(root: &Path) {
    let path = root.join("stackr.config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["dev"]["postgresPortStart"] = POSTGRES_PORT_START.into();
    config["dev"]["redisPortStart"] = REDIS_PORT_START.into();
    let mut api = API_PORT_START;
    for service in config["services"].as_array_mut().unwrap() {
        if service["kind"] == "auth" {
            service["port"] = AUTH_PORT.into();
            service["adminPort"] = AUTH_ADMIN_PORT.into();
        } else {
            service["port"] = api.into();
            api += 1;
        }
    }
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap() + "\n").unwrap();
}
