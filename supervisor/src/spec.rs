//! The validated stack the supervisor runs: every default filled in, every reference checked,
//! so the runtime never has to second-guess the file.

use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;

/// A whole stack, processes in start order (dependencies before dependents).
#[derive(Debug, Clone)]
pub struct Stack {
    pub processes: Vec<ProcessSpec>,
    /// Shell and its argument used for every command and exec probe (`bash -c` by default, as
    /// process-compose does; `sh -c` where bash is absent).
    pub shell: (String, String),
    /// Non-fatal findings of loading (unknown or unsupported fields, dropped dependencies).
    pub warnings: Vec<String>,
}

impl Stack {
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.processes.iter().position(|p| p.name == name)
    }

    /// Indices of the processes that depend on `index` (stopped before it on shutdown).
    pub fn dependents_of(&self, index: usize) -> Vec<usize> {
        self.processes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.depends_on.iter().any(|d| d.process == index))
            .map(|(i, _)| i)
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct ProcessSpec {
    pub name: String,
    pub command: String,
    pub working_dir: PathBuf,
    /// Extra variables (global then process-level, later wins) on top of the inherited env.
    pub environment: Vec<(String, String)>,
    pub depends_on: Vec<Dependency>,
    pub readiness: Option<Probe>,
    pub restart: RestartPolicy,
    pub shutdown: ShutdownSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dependency {
    /// Index into `Stack::processes`.
    pub process: usize,
    pub condition: Condition,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Started,
    Healthy,
    Completed,
    CompletedSuccessfully,
}

impl Condition {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "process_started" => Condition::Started,
            "process_healthy" => Condition::Healthy,
            "process_completed" => Condition::Completed,
            "process_completed_successfully" => Condition::CompletedSuccessfully,
            _ => return None,
        })
    }

    /// What a process waiting on this condition needs of the one it waits for, as a developer
    /// reads it (the compose file's names are not).
    pub fn requirement(self) -> &'static str {
        match self {
            Condition::Started => "it must be running first",
            Condition::Healthy => "it must be ready first",
            Condition::Completed => "it must finish first",
            Condition::CompletedSuccessfully => "it must succeed first",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Probe {
    pub check: ProbeCheck,
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

#[derive(Debug, Clone)]
pub enum ProbeCheck {
    Exec {
        command: String,
        working_dir: PathBuf,
    },
    HttpGet {
        host: String,
        port: u16,
        path: String,
        headers: Vec<(String, String)>,
        status_code: u16,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartMode {
    No,
    Always,
    OnFailure,
    /// No restart; a non-zero exit stops the whole stack with that exit code.
    ExitOnFailure,
}

#[derive(Debug, Clone, Copy)]
pub struct RestartPolicy {
    pub mode: RestartMode,
    pub backoff: Duration,
    /// 0 means unlimited, as in process-compose.
    pub max_restarts: u32,
    /// When the process ends (and will not restart), the whole stack stops.
    pub exit_on_end: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct ShutdownSpec {
    pub signal: Signal,
    pub timeout: Duration,
}
