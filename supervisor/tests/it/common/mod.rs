//! Test harness: runs the supervisor as a separate process (the test binary re-executes itself
//! into [`child_entry`]) so tests can send it real signals and then look for leftovers in the
//! process table, the way a developer pressing Ctrl-C would find them.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const CHILD_VAR: &str = "STACKR_SUPERVISOR_TEST_CHILD";

/// Whether the supervisor's output is echoed (to stderr, shown for failing tests); the
/// benchmark turns it off to keep its report readable.
pub static ECHO: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Called by the `#[test]` named `supervisor_child_entry` at the root of the test binary, which
/// [`Supervised`] re-executes: in the re-executed child it runs the supervisor and exits; in a normal test
/// run it returns at once.
pub fn child_entry() {
    let Ok(args) = std::env::var(CHILD_VAR) else {
        return;
    };
    // libtest has written `test supervisor_child_entry ... ` with no line end: ended here, the
    // stack's first line is one of its own. A process's output that came before the supervisor's
    // first status line was glued to it, and a test looking for that line as written failed.
    println!();
    let mut opts = stackr_supervisor::DevOptions::for_file(
        std::env::var("STACKR_SUPERVISOR_TEST_FILE").unwrap(),
    );
    opts.plain = true;
    opts.colour = false;
    let mut via_dev = false;
    for a in args.split_whitespace() {
        match a {
            "--dev" => via_dev = true,
            "--reset" => opts.reset = true,
            "--yes" => opts.yes = true,
            "--no-tools-check" => opts.check_tools = false,
            // What `stackr dev` tells the supervisor of a stackr project's state folder.
            "--stackr-project" => {
                opts.reset_keeps = vec!["deploy".to_owned()];
                opts.made_before_first_run = vec!["secrets".to_owned()];
            }
            "-" => {}
            other if other.starts_with("--state-dir=") => {
                opts.state_dir = opts.project_dir.join(&other["--state-dir=".len()..]);
            }
            other if other.starts_with("--ready-banner=") => {
                opts.ready_banner = vec![other["--ready-banner=".len()..].to_owned()];
            }
            other if other.starts_with("--socket=") => {
                // --socket=PROCESS:NAME:ADDRESS
                let mut parts = other["--socket=".len()..].splitn(3, ':');
                let (Some(process), Some(name), Some(address)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    panic!("{other} is not --socket=PROCESS:NAME:ADDRESS");
                };
                opts.sockets.push(stackr_supervisor::HandedSocket {
                    process: process.to_owned(),
                    name: name.to_owned(),
                    address: address.parse().expect("a socket address"),
                });
            }
            other if other.starts_with("--only=") => {
                opts.only = other["--only=".len()..]
                    .split(',')
                    .map(str::to_owned)
                    .collect();
            }
            other => panic!("unknown test flag {other}"),
        }
    }
    if via_dev {
        // `stackr dev` proper: process-compose when on PATH, else the embedded supervisor.
        let code = match stackr_supervisor::dev_status(&opts) {
            Ok(code) => i32::from(code),
            Err(e) => {
                eprintln!("Error: {e:#}");
                1
            }
        };
        std::process::exit(code);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let code = match runtime.block_on(stackr_supervisor::run_async(&opts)) {
        Ok(outcome) => i32::from(outcome.code),
        Err(e) => {
            eprintln!("Error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

/// A unique marker put into every process of a test stack's environment, so leftovers can be
/// found in /proc even when they escaped their process group.
pub fn unique_mark(test: &str) -> String {
    format!(
        "{test}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ rand_nanos()
    )
}

fn rand_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Pids (and command lines) of live processes whose working directory is inside `dir`. Catches
/// servers that overwrite their environment for their process title (redis-server does).
pub fn processes_inside(dir: &Path) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else {
            continue;
        };
        let cwd = cwd
            .to_string_lossy()
            .trim_end_matches(" (deleted)")
            .to_owned();
        if Path::new(&cwd).starts_with(dir) {
            let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push((pid, String::from_utf8_lossy(&cmd).replace('\0', " ")));
        }
    }
    found
}

/// Pids (and command lines) of live processes whose environment carries `mark`.
pub fn processes_with_mark(mark: &str) -> Vec<(u32, String)> {
    let needle = format!("STACKR_TEST_MARK={mark}");
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(env) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if env.split(|&b| b == 0).any(|kv| kv == needle.as_bytes()) {
            // Zombies already exited; only running (or stopped) processes are leftovers.
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next())
                .unwrap_or("");
            if state == "Z" {
                continue;
            }
            let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            found.push((pid, cmd));
        }
    }
    found
}

/// Waits up to `within` for no process to carry `mark`; returns what is still there.
pub fn wait_no_processes_with_mark(mark: &str, within: Duration) -> Vec<(u32, String)> {
    let deadline = Instant::now() + within;
    loop {
        let left = processes_with_mark(mark);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills leftovers so a failing test does not leave them behind for the next one.
pub fn kill_marked(mark: &str) {
    for (pid, _) in processes_with_mark(mark) {
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
}

/// The supervisor running as a child process, with its output collected line by line.
pub struct Supervised {
    child: Child,
    out: Arc<(Mutex<Vec<String>>, Condvar)>,
    err: Arc<Mutex<String>>,
}

impl Supervised {
    /// Runs the supervisor on `file` with test `flags` (`--reset`, `--yes`, `--state-dir=REL`, relative
    /// to the file's folder), extra env vars.
    pub fn start(file: &Path, flags: &[&str], env: &[(&str, &str)]) -> Self {
        let exe = std::env::current_exe().unwrap();
        let mut cmd = Command::new(exe);
        cmd.args([
            "--exact",
            "supervisor_child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            CHILD_VAR,
            if flags.is_empty() {
                "-".to_string()
            } else {
                flags.join(" ")
            },
        )
        .env("STACKR_SUPERVISOR_TEST_FILE", file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        // The demo stack's `build` process runs cargo: it must find the workspace built.
        stackr_testkit::without_cargo_package_env(&mut cmd);
        let mut child = cmd.spawn().expect("re-execute the test binary");
        let out: Arc<(Mutex<Vec<String>>, Condvar)> = Arc::default();
        let stdout = child.stdout.take().unwrap();
        {
            let out = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if ECHO.load(std::sync::atomic::Ordering::Relaxed) {
                        eprintln!("  [supervisor] {line}");
                    }
                    out.0.lock().unwrap().push(line);
                    out.1.notify_all();
                }
            });
        }
        let err: Arc<Mutex<String>> = Arc::default();
        let mut stderr = child.stderr.take().unwrap();
        {
            let err = err.clone();
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = stderr.read_to_string(&mut s);
                eprint!("{s}");
                err.lock().unwrap().push_str(&s);
            });
        }
        Supervised { child, out, err }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits for a stdout line containing `needle`; panics with the output so far on timeout.
    pub fn wait_for_line(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let (lock, cvar) = &*self.out;
        let mut lines = lock.lock().unwrap();
        loop {
            if let Some(l) = lines.iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                panic!(
                    "no line containing {needle:?} within {within:?}; output:\n{}",
                    lines.join("\n")
                );
            }
            lines = cvar.wait_timeout(lines, deadline - now).unwrap().0;
        }
    }

    pub fn signal(&self, sig: i32) {
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// Waits for exit; panics (after killing it) if it takes longer than `within`.
    pub fn wait(&mut self, within: Duration) -> i32 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Give the reader threads a moment to drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
                return status.code().unwrap_or(-1);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "supervisor did not exit within {within:?}; output:\n{}",
                    self.lines().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.out.0.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.err.lock().unwrap().clone()
    }

    /// Index of the first line containing `needle`.
    pub fn line_index(&self, needle: &str) -> Option<usize> {
        self.lines().iter().position(|l| l.contains(needle))
    }
}

impl Drop for Supervised {
    /// A test that failed half-way still stops its stack the proper way (SIGTERM, so the
    /// supervisor stops its processes); SIGKILL only if the supervisor itself hangs.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(40);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Writes `yaml` as `process-compose.yaml` in `dir` and returns its path.
pub fn write_stack(dir: &Path, yaml: &str) -> PathBuf {
    let file = dir.join("process-compose.yaml");
    std::fs::write(&file, yaml).unwrap();
    file
}

/// Lines of a file the test processes append to (empty when it does not exist yet).
pub fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

pub mod demo_stack;
pub mod two_services;
