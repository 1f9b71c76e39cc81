//! One service process on the host: started with exactly the environment it is given (nothing
//! inherited from the test process), its output in a log file, killed when the handle drops.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

pub struct ServiceProcess {
    name: String,
    child: Child,
    log: PathBuf,
}

impl ServiceProcess {
    /// Spawns `program args…` in `cwd` with only `env` (plus nothing: no PATH, no HOME), logging
    /// to `<log_dir>/<name>.log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        cwd: &Path,
        log_dir: &Path,
    ) -> anyhow::Result<Self> {
        let log = log_dir.join(format!("{name}.log"));
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(program)
            .args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {name} ({})", program.display()))?;
        Ok(ServiceProcess {
            name: name.to_owned(),
            child,
            log,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The environment the running process actually has (from /proc, not from what we meant to
    /// give it).
    pub fn environment(&self) -> anyhow::Result<Vec<(String, String)>> {
        let raw = std::fs::read(format!("/proc/{}/environ", self.pid()))
            .with_context(|| format!("reading the environment of {}", self.name))?;
        Ok(raw
            .split(|b| *b == 0)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let entry = String::from_utf8_lossy(entry);
                match entry.split_once('=') {
                    Some((k, v)) => (k.to_owned(), v.to_owned()),
                    None => (entry.into_owned(), String::new()),
                }
            })
            .collect())
    }

    /// Fails with the end of the log if the process has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            anyhow::bail!(
                "{} exited ({status}); end of its log:\n{}",
                self.name,
                self.log_tail(40)
            );
        }
        Ok(())
    }

    /// Kills the process (the blast-radius check stops auth this way) and reaps it.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let _ = self.child.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait()?.is_none() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} did not die after SIGKILL",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
