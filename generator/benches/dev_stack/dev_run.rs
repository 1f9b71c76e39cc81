//! One run of `stackr dev` (the embedded supervisor, plain output): launched, followed until it
//! says every process is ready, stopped with SIGINT as Ctrl-C would.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest a start may take before the benchmark gives up on it (and says so).
pub const READY_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest the ordered shutdown may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(120);
/// Output lines kept to explain a failed start.
const TAIL: usize = 60;

#[derive(Default)]
struct Output {
    /// When the supervisor's "all N processes ready in X" line arrived, and that line.
    ready: Option<(Instant, String)>,
    stopping: bool,
    tail: VecDeque<String>,
    /// Every "… completed in …" line: how long each one-shot process (the build, a db setup) ran.
    completions: Vec<String>,
}

pub struct DevRun {
    child: Child,
    launched: Instant,
    output: Arc<Mutex<Output>>,
}

impl DevRun {
    /// `stackr dev` in the project at `root`, with `env` added to this process's environment.
    pub fn start(root: &Path, env: &[(&str, OsString)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stackr"));
        stackr_testkit::without_cargo_package_env(&mut command);
        command
            .args(["dev", "--embedded", "--no-tui"])
            .current_dir(root)
            .env("NO_COLOR", "1")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let launched = Instant::now();
        let mut child = command.spawn().expect("start stackr dev");
        let output = Arc::new(Mutex::new(Output::default()));
        let streams: [Box<dyn std::io::Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for stream in streams {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut out = output.lock().unwrap();
                    if out.ready.is_none() && line.contains(" processes ready in ") {
                        out.ready = Some((Instant::now(), line.clone()));
                    }
                    out.stopping |= line.contains("stackr") && line.contains("stopping:");
                    if line.contains(" completed in ") {
                        out.completions.push(line.clone());
                    }
                    out.tail.push_back(line);
                    if out.tail.len() > TAIL {
                        out.tail.pop_front();
                    }
                }
            });
        }
        DevRun {
            child,
            launched,
            output,
        }
    }

    /// The supervisor's "completed in" line of the one-shot process `name`, once it completed.
    #[allow(dead_code)] // used by the first_day bench, which shares this file
    pub fn completion_of(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}:");
        let out = self.output.lock().unwrap();
        out.completions
            .iter()
            .find(|l| l.split_whitespace().any(|w| w == prefix))
            .cloned()
    }

    #[allow(dead_code)] // used by the dev_stack bench only
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wall time from launch to the "all ready" line, and that line; `Err` with the end of the
    /// output when the stack stopped or did not get ready in time.
    pub fn wait_ready(&mut self) -> Result<(Duration, String), String> {
        loop {
            {
                let out = self.output.lock().unwrap();
                if let Some((at, line)) = &out.ready {
                    return Ok((*at - self.launched, line.clone()));
                }
                let failed = out.stopping || self.launched.elapsed() > READY_TIMEOUT;
                if failed {
                    let tail: Vec<&str> = out.tail.iter().map(String::as_str).collect();
                    return Err(format!(
                        "not ready after {:.0}s; last output:\n{}",
                        self.launched.elapsed().as_secs_f64(),
                        tail.join("\n")
                    ));
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let tail: Vec<String> = self.output.lock().unwrap().tail.iter().cloned().collect();
                return Err(format!(
                    "stackr dev exited ({status}):\n{}",
                    tail.join("\n")
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGINT, then waits for the ordered shutdown; panics if it does not end in time.
    pub fn stop(mut self) {
        // SAFETY: kill only sends a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if self
                .child
                .try_wait()
                .expect("wait for stackr dev")
                .is_some()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("stackr dev did not stop within {STOP_TIMEOUT:?} of SIGINT");
    }
}
