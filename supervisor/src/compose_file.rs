//! The process-compose file as written: serde types mirroring the fields of process-compose's
//! JSON Schema (a copy is `generator/tests/fixtures/process-compose-schema.json`) that the embedded
//! supervisor reads.
//!
//! Every struct keeps the fields it does not know in `unknown`, so loading can warn about them
//! instead of failing: a file written for a newer process-compose must still run here, and a
//! typo must still be visible.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::Value;

/// Top level of `process-compose.yaml`.
#[derive(Debug, Default, Deserialize)]
pub struct ProjectFile {
    // Known (so not warned about as unknown) but irrelevant to running the stack.
    #[allow(dead_code)]
    pub version: Option<String>,
    #[allow(dead_code)]
    pub name: Option<String>,
    /// `K=V` entries given to every process.
    #[serde(default)]
    pub environment: Vec<String>,
    #[serde(default)]
    pub processes: BTreeMap<String, ProcessFile>,
    pub shell: Option<ShellFile>,
    /// process-compose expands `$VAR` with the caller's environment unless this is set.
    #[serde(default)]
    pub disable_env_expansion: bool,
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ShellFile {
    pub shell_command: Option<String>,
    pub shell_argument: Option<String>,
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// One entry under `processes:`.
#[derive(Debug, Default, Deserialize)]
pub struct ProcessFile {
    pub command: Option<String>,
    pub working_dir: Option<String>,
    #[serde(default)]
    pub environment: Vec<String>,
    #[serde(default)]
    pub depends_on: BTreeMap<String, DependencyFile>,
    pub readiness_probe: Option<ProbeFile>,
    pub availability: Option<AvailabilityFile>,
    pub shutdown: Option<ShutdownFile>,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub is_daemon: bool,
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DependencyFile {
    pub condition: Option<String>,
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ProbeFile {
    pub exec: Option<ExecProbeFile>,
    pub http_get: Option<HttpProbeFile>,
    pub initial_delay_seconds: Option<u64>,
    pub period_seconds: Option<u64>,
    pub timeout_seconds: Option<u64>,
    pub success_threshold: Option<u32>,
    pub failure_threshold: Option<u32>,
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ExecProbeFile {
    pub command: Option<String>,
    pub working_dir: Option<String>,
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
pub struct HttpProbeFile {
    pub host: Option<String>,
    pub path: Option<String>,
    pub scheme: Option<String>,
    /// process-compose accepts the port as a string (so it can hold `${PORT}`) or as `num_port`.
    pub port: Option<PortValue>,
    pub num_port: Option<u16>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub status_code: Option<u16>,
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// `port: 8080` and `port: "8080"` both appear in the wild.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PortValue {
    Number(u64),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
pub struct AvailabilityFile {
    pub restart: Option<String>,
    pub backoff_seconds: Option<u64>,
    pub max_restarts: Option<u32>,
    #[serde(default)]
    pub exit_on_end: bool,
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ShutdownFile {
    pub signal: Option<i32>,
    pub timeout_seconds: Option<u64>,
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}
