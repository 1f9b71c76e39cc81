//! The repo's own demo stack (`process-compose.yaml` at the workspace root: auth, core and wallet,
//! each with PostgreSQL, Redis, API and worker, plus the `secrets` and `build` one-shots) under the
//! embedded supervisor, without touching the developer's `.stackr/`.
//!
//! The generated commands use relative `.stackr/…` paths and run in the project folder (the
//! file's folder), and the `build` one-shot runs `cargo build --workspace --bins` there. So the
//! benchmark runs in a *mirror* of the project root: a temporary folder holding a copy of
//! `process-compose.yaml` and a symlink to every other entry of the workspace root (Cargo.toml,
//! Cargo.lock, the member crates, …) except `.stackr`, which is the mirror's own, real folder.
//! Cargo finds the same workspace from there, so `build` is the same no-op build a developer's
//! warm start runs. `CARGO_TARGET_DIR` is set (absolute) to the target folder this benchmark was
//! built in, so the APIs' `${CARGO_TARGET_DIR:-target}/debug/…` are the binaries built untimed
//! beforehand.
//!
//! Used by `tests/it/demo_stack.rs` (the demo stack's integration test: ready, `/health`, Ctrl-C without
//! orphans, data reused) and `benches/startup.rs` (cold/warm timing).

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::{self as common, Supervised};

/// Longest a single start may take before the benchmark gives up (and says so).
const READY_TIMEOUT: Duration = Duration::from_secs(180);

pub struct DemoProject {
    pub dir: tempfile::TempDir,
    pub mark: String,
    /// Symlinks this benchmark created in `dir` (removed before the folder is).
    links: Vec<PathBuf>,
    pub target_dir: PathBuf,
    /// Loopback ports the file's commands and probes use.
    pub ports: BTreeSet<u16>,
    /// Ports of the http readiness probes (`GET /health` is checked after each start).
    pub http_ports: Vec<u16>,
    pub process_count: usize,
    env: Vec<(String, String)>,
}

/// One start of the demo stack.
#[allow(dead_code)] // the figures benches/startup.rs prints; the test checks the rest
pub struct DemoRun {
    /// Wall time from launching the supervisor to its "all N processes ready" line (polled every
    /// 10 ms).
    pub wall: Duration,
    /// The supervisor's own figure (from its start) in that line.
    pub reported: String,
    /// How long the `build` one-shot itself ran (its "completed in" line) and when it completed
    /// (wall time from launch).
    pub build_took: Option<String>,
    pub build_done_at: Option<Duration>,
    /// `cargo` had to wait for another cargo holding the target folder's lock.
    pub build_blocked: bool,
    /// Status lines of the supervisor with their arrival time after launch.
    pub timeline: Vec<(Duration, String)>,
    pub restarts: usize,
}

impl DemoProject {
    pub fn new() -> Self {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .canonicalize()
            .expect("workspace root");
        let source = workspace.join("process-compose.yaml");
        assert!(
            source.is_file(),
            "the demo stack's {} is missing (run `stackr generate`)",
            source.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("stackr-demo-bench-")
            .tempdir()
            .expect("temporary project folder");
        // The postgres user (root runs) must be able to traverse the project folder.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::copy(&source, dir.path().join("process-compose.yaml")).unwrap();
        let mut links = Vec::new();
        for entry in std::fs::read_dir(&workspace).unwrap().flatten() {
            let name = entry.file_name();
            if name == ".stackr" || name == "process-compose.yaml" {
                continue;
            }
            let link = dir.path().join(&name);
            std::os::unix::fs::symlink(entry.path(), &link).expect("symlink into the mirror");
            links.push(link);
        }

        let target_dir = target_dir(&workspace);
        let stack =
            stackr_supervisor::load_file(&dir.path().join("process-compose.yaml"), dir.path())
                .expect("the demo stack's process-compose.yaml loads");
        // Ports: every loopback port the file names (commands, environment, probes).
        let mut ports = BTreeSet::new();
        scan_ports(&std::fs::read_to_string(&source).unwrap(), &mut ports);
        // http probes (their check type is not public API: read it from its Debug form).
        let mut http_ports = Vec::new();
        for p in &stack.processes {
            let Some(probe) = &p.readiness else { continue };
            let text = format!("{:?}", probe.check);
            if let Some(rest) = text.strip_prefix("HttpGet {") {
                let mut found = BTreeSet::new();
                scan_ports(rest.split(", path:").next().unwrap_or(""), &mut found);
                http_ports.extend(found);
            }
        }
        let mark = common::unique_mark("demo-bench");
        let env = vec![
            (
                "CARGO_TARGET_DIR".to_owned(),
                target_dir.display().to_string(),
            ),
            ("STACKR_TEST_MARK".to_owned(), mark.clone()),
        ];
        let project = DemoProject {
            dir,
            mark,
            links,
            target_dir,
            ports,
            http_ports,
            process_count: stack.processes.len(),
            env,
        };
        eprintln!(
            "  demo stack: ports checked free before and after every start: {:?}; /health after \
             all-ready on {:?}",
            project.ports, project.http_ports
        );
        project.build_untimed(&stack);
        project
    }

    pub fn file(&self) -> PathBuf {
        self.dir.path().join("process-compose.yaml")
    }

    pub fn wipe_state(&self) {
        let state = self.dir.path().join(".stackr");
        if state.exists() {
            std::fs::remove_dir_all(&state).expect("wipe the mirror's state folder");
        }
    }

    /// Runs the `build` process's own command once, untimed, exactly as the supervisor will (its
    /// shell, working dir and environment), so the timed starts find every binary built.
    fn build_untimed(&self, stack: &stackr_supervisor::Stack) {
        let Some(build) = stack.processes.iter().find(|p| p.name == "build") else {
            eprintln!("  demo stack: no `build` process in the file; binaries are assumed built");
            return;
        };
        eprintln!(
            "  demo stack: untimed `{}` in {} (CARGO_TARGET_DIR={}) …",
            build.command,
            self.dir.path().display(),
            self.target_dir.display()
        );
        let started = Instant::now();
        let status = stackr_testkit::without_cargo_package_env(&mut Command::new(&stack.shell.0))
            .arg(&stack.shell.1)
            .arg(&build.command)
            .current_dir(&build.working_dir)
            .envs(build.environment.iter().map(|(k, v)| (k, v)))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .status()
            .expect("run the build command");
        assert!(
            status.success(),
            "the demo stack's build command failed ({status}); the benchmark cannot start it"
        );
        eprintln!(
            "  demo stack: binaries built in {:.1}s (untimed)",
            started.elapsed().as_secs_f64()
        );
    }

    /// Loopback ports of the stack that something else is listening on.
    pub fn busy_ports(&self) -> Vec<u16> {
        self.ports
            .iter()
            .copied()
            .filter(|&p| TcpListener::bind(("127.0.0.1", p)).is_err())
            .collect()
    }

    /// Starts the stack, returns the time until the supervisor reported every process ready,
    /// checks `/health` of every API, then stops it with SIGINT (as Ctrl-C would) and checks that
    /// nothing is left: no process of the mirror, no port of the stack still taken.
    pub fn start_until_ready(&self) -> DemoRun {
        let busy = self.busy_ports();
        assert!(
            busy.is_empty(),
            "demo stack NOT MEASURED: ports {busy:?} of the demo stack are already taken (is a \
             `stackr dev` running?); stop it and run the benchmark again"
        );
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let launched = Instant::now();
        let mut sup = Supervised::start(&self.file(), &[], &env);
        let mut timeline: Vec<(Duration, String)> = Vec::new();
        let mut seen = 0;
        let (wall, reported) = loop {
            let lines = sup.lines();
            let now = launched.elapsed();
            for l in &lines[seen..] {
                timeline.push((now, l.clone()));
            }
            seen = lines.len();
            if let Some(l) = lines
                .iter()
                .find(|l| is_note(l) && l.contains("processes ready in"))
            {
                let reported = l.rsplit("ready in ").next().unwrap_or("?").to_owned();
                break (now, reported);
            }
            let fatal = lines.iter().find(|l| {
                is_note(l) && (l.contains(": failed: exited with") || l.contains(": not started:"))
            });
            if fatal.is_some() || !sup.stderr().is_empty() || now > READY_TIMEOUT {
                let tail: Vec<&String> = lines.iter().rev().take(60).rev().collect();
                let tail: Vec<&str> = tail.iter().map(|s| s.as_str()).collect();
                panic!(
                    "demo stack did not become ready ({}); supervisor stderr: {}\nlast lines:\n{}",
                    fatal.map_or("timeout or supervisor error", |s| s.as_str()),
                    sup.stderr(),
                    tail.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };

        for &port in &self.http_ports {
            let (code, _) = super::two_services::http_get(port, "/health");
            assert_eq!(code, 200, "GET /health on port {port} after all-ready");
        }

        let notes: Vec<(Duration, String)> = timeline
            .iter()
            .filter(|(_, l)| is_note(l))
            .map(|(t, l)| (*t, note_text(l).to_owned()))
            .collect();
        let build_line = notes
            .iter()
            .find(|(_, l)| l.starts_with("build: completed in "));
        let run = DemoRun {
            wall,
            reported,
            build_took: build_line.map(|(_, l)| l["build: completed in ".len()..].to_owned()),
            build_done_at: build_line.map(|(t, _)| *t),
            build_blocked: timeline
                .iter()
                .any(|(_, l)| l.contains("Blocking waiting for file lock")),
            restarts: notes
                .iter()
                .filter(|(_, l)| l.contains("restarting"))
                .count(),
            timeline: notes,
        };

        sup.signal(libc::SIGINT);
        let code = sup.wait(Duration::from_secs(90));
        assert_eq!(code, 0, "the demo stack stops cleanly on SIGINT");
        let left = self.leftovers();
        assert!(left.is_empty(), "processes left behind: {left:?}");
        let busy = self.busy_ports();
        assert!(
            busy.is_empty(),
            "ports still taken after the stop: {busy:?}"
        );
        run
    }

    /// Processes of this benchmark's stack still alive (environment marker, or a working
    /// directory inside the mirror); waits up to 30 s for them to go.
    pub fn leftovers(&self) -> Vec<(u32, String)> {
        let dir = self.dir.path().canonicalize().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut left = common::processes_with_mark(&self.mark);
            for (pid, cmd) in common::processes_inside(&dir) {
                if !left.iter().any(|(p, _)| *p == pid) {
                    left.push((pid, cmd));
                }
            }
            if left.is_empty() || Instant::now() >= deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for DemoProject {
    /// Nothing outlives the benchmark, even one that failed half-way; and the symlinks go first,
    /// so removing the mirror can never reach into the workspace.
    fn drop(&mut self) {
        if let Ok(dir) = self.dir.path().canonicalize() {
            let mut left = common::processes_with_mark(&self.mark);
            left.extend(common::processes_inside(&dir));
            for (pid, _) in left {
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
        for link in &self.links {
            let _ = std::fs::remove_file(link);
        }
    }
}

/// Removes the variables `cargo bench` sets for the benchmark binary (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`, …), which every process of the stack would otherwise inherit: a developer's
/// `stackr dev` does not have them, and the `build` one-shot's cargo would see them as changed
/// build-script inputs (ring reruns on `CARGO_MANIFEST_DIR`) and rebuild half the workspace, in
/// the timed window and again in the developer's next build. Call before any thread starts.
pub fn forget_cargo_run_env() {
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| {
            k.starts_with("CARGO_PKG_")
                || k.starts_with("CARGO_BIN_EXE_")
                || [
                    "CARGO_MANIFEST_DIR",
                    "CARGO_MANIFEST_PATH",
                    "CARGO_MANIFEST_LINKS",
                    "CARGO_CRATE_NAME",
                    "CARGO_BIN_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "CARGO_RUSTC_CURRENT_DIR",
                    "OUT_DIR",
                ]
                .contains(&k.as_str())
        })
        .collect();
    for name in names {
        std::env::remove_var(name);
    }
}

/// A line of the supervisor itself (`stackr | …`), not of a process.
fn is_note(line: &str) -> bool {
    line.split_once(" | ")
        .or_else(|| line.split_once("| "))
        .is_some_and(|(name, _)| name.trim() == "stackr")
}

fn note_text(line: &str) -> &str {
    line.split_once("| ").map_or(line, |(_, t)| t.trim_start())
}

/// The target folder this benchmark binary was built in (the folder with cargo's CACHEDIR.TAG
/// above it), else `$CARGO_TARGET_DIR`, else `<workspace>/target`; always absolute.
fn target_dir(workspace: &Path) -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file()) {
            return dir.to_owned();
        }
    }
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        Some(d) => workspace.join(d),
        None => workspace.join("target"),
    }
}

/// Loopback ports named in a text: `-p N`, `port N`, `port: N`, `port: "N"`, `PORT=N`,
/// `127.0.0.1:N` (not `localhost:N`: the file names browser origins such as localhost:3000 that
/// the stack does not listen on).
fn scan_ports(text: &str, ports: &mut BTreeSet<u16>) {
    for prefix in ["-p ", "port ", "port: ", "port: \"", "PORT=", "127.0.0.1:"] {
        let mut rest = text;
        while let Some(i) = rest.find(prefix) {
            rest = &rest[i + prefix.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(p) = digits.parse::<u16>() {
                if p > 0 {
                    ports.insert(p);
                }
            }
        }
    }
}
