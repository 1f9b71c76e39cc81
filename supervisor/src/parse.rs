//! From the YAML text to a validated [`Stack`]: syntax errors carry the file, line and column;
//! fields the supervisor does not know or does not implement become warnings; anything that
//! would make it run something other than what process-compose runs is an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_yaml::Value;

use crate::compose_file::{PortValue, ProbeFile, ProcessFile, ProjectFile};
use crate::expand::expand_from_env;
use crate::graph::{index_by_name, start_order};
use crate::spec::{
    Condition, Dependency, Probe, ProbeCheck, ProcessSpec, RestartMode, RestartPolicy,
    ShutdownSpec, Stack,
};
use crate::tools::find_on_path;

/// Why a file cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Displayed with its cause by `{:#}` (anyhow's chain), e.g. "No such file or directory".
    #[error("cannot read {}{}", path.display(), if source.kind() == std::io::ErrorKind::NotFound {
        " (run `stackr generate` to create it, or pass --file)"
    } else {
        ""
    })]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// process-compose's documented defaults for probes.
const PROBE_PERIOD: u64 = 10;
const PROBE_TIMEOUT: u64 = 1;
const PROBE_FAILURES: u32 = 3;
/// process-compose never waits less than a second between restarts.
const MIN_BACKOFF: u64 = 1;
/// process-compose does not force-kill when no timeout is set; the supervisor promises no
/// orphans, so it escalates to SIGKILL after this many seconds instead.
const DEFAULT_SHUTDOWN_TIMEOUT: u64 = 10;

/// Reads and validates `path`; relative working dirs resolve against `base_dir`.
pub fn load_file(path: &Path, base_dir: &Path) -> Result<Stack, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    load_str(&text, path, base_dir)
}

/// Validates YAML `text`; `path` only names the file in messages.
pub fn load_str(text: &str, path: &Path, base_dir: &Path) -> Result<Stack, LoadError> {
    let file: ProjectFile = serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        LoadError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: e.to_string(),
        }
    })?;
    Loader {
        path,
        base_dir,
        warnings: Vec::new(),
        expand: !file.disable_env_expansion,
    }
    .stack(file)
}

struct Loader<'a> {
    path: &'a Path,
    base_dir: &'a Path,
    warnings: Vec<String>,
    expand: bool,
}

impl Loader<'_> {
    fn invalid(&self, message: impl Into<String>) -> LoadError {
        LoadError::Invalid {
            path: self.path.to_owned(),
            message: message.into(),
        }
    }

    fn text(&self, s: &str) -> String {
        if self.expand {
            expand_from_env(s)
        } else {
            s.to_owned()
        }
    }

    fn dir(&self, s: Option<&str>) -> PathBuf {
        match s {
            Some(d) if !d.is_empty() => self.base_dir.join(self.text(d)),
            _ => self.base_dir.to_owned(),
        }
    }

    /// Warns about each unknown key under `at`, and about known keys this supervisor ignores.
    fn unknown(&mut self, at: &str, fields: &BTreeMap<String, Value>) {
        for key in fields.keys() {
            if ACCEPTED_SILENTLY.contains(&key.as_str()) {
                continue;
            }
            let what = if SUPPORTED_ELSEWHERE.contains(&key.as_str()) {
                "is a process-compose feature the embedded supervisor does not implement; ignored"
            } else {
                "is not a known process-compose field; ignored"
            };
            self.warnings.push(format!("{at}{key} {what}"));
        }
    }

    fn stack(mut self, file: ProjectFile) -> Result<Stack, LoadError> {
        self.unknown("", &file.unknown);
        let shell = self.shell(&file);
        let global_env = self.environment("environment", &file.environment)?;

        let (enabled, disabled): (Vec<_>, Vec<_>) =
            file.processes.iter().partition(|(_, p)| !p.disabled);
        let names: Vec<String> = enabled.iter().map(|(n, _)| (*n).clone()).collect();
        let index = index_by_name(&names);

        let mut specs = Vec::with_capacity(names.len());
        let mut deps_by_index = Vec::with_capacity(names.len());
        for (name, proc_file) in &enabled {
            let spec = self.process(name, proc_file, &global_env, &index, &disabled)?;
            deps_by_index.push(spec.depends_on.iter().map(|d| d.process).collect());
            specs.push(spec);
        }
        let order = start_order(&names, &deps_by_index).map_err(|m| self.invalid(m))?;

        // Re-index so that `processes` is in start order and dependencies point into it.
        let mut new_index = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let mut slots: Vec<Option<ProcessSpec>> = specs.into_iter().map(Some).collect();
        let processes = order
            .iter()
            .map(|&old| {
                let mut p = slots[old]
                    .take()
                    .expect("each index appears once in the order");
                for d in &mut p.depends_on {
                    d.process = new_index[d.process];
                }
                p
            })
            .collect();
        Ok(Stack {
            processes,
            shell,
            warnings: self.warnings,
        })
    }

    fn shell(&mut self, file: &ProjectFile) -> (String, String) {
        if let Some(s) = &file.shell {
            self.unknown("shell.", &s.unknown);
            if let Some(cmd) = &s.shell_command {
                let arg = s.shell_argument.clone().unwrap_or_else(|| "-c".into());
                return (cmd.clone(), arg);
            }
        }
        // Same choice as process-compose: $COMPOSE_SHELL, else bash. Unlike it, fall back to sh
        // on machines without bash rather than refusing to start.
        if let Ok(s) = std::env::var("COMPOSE_SHELL") {
            return (s, "-c".into());
        }
        let shell = if find_on_path("bash").is_some() {
            "bash"
        } else {
            "sh"
        };
        (shell.into(), "-c".into())
    }

    /// `K=V` entries; values are expanded but never echoed (they may be secrets).
    fn environment(
        &mut self,
        at: &str,
        list: &[String],
    ) -> Result<Vec<(String, String)>, LoadError> {
        let mut out = Vec::with_capacity(list.len());
        for entry in list {
            match entry.split_once('=') {
                Some((k, v)) if !k.is_empty() => out.push((k.to_owned(), self.text(v))),
                _ => {
                    let key = entry.split('=').next().unwrap_or_default();
                    self.warnings.push(format!(
                        "{at}: entry `{key}` is not of the form KEY=VALUE; ignored"
                    ));
                }
            }
        }
        Ok(out)
    }

    fn process(
        &mut self,
        name: &str,
        p: &ProcessFile,
        global_env: &[(String, String)],
        index: &BTreeMap<&str, usize>,
        disabled: &[(&String, &ProcessFile)],
    ) -> Result<ProcessSpec, LoadError> {
        let at = format!("processes.{name}");
        self.unknown(&format!("{at}."), &p.unknown);
        if p.is_daemon {
            return Err(self.invalid(format!(
                "{at}.is_daemon: background (daemon) processes are not supported by stackr's \
                 embedded supervisor. Run the process in the foreground (e.g. `postgres`, not \
                 `pg_ctl start`), or install process-compose so `stackr dev` hands the file to it."
            )));
        }
        let command = match p.command.as_deref() {
            Some(c) if !c.trim().is_empty() => self.text(c),
            _ => return Err(self.invalid(format!("{at}.command is missing or empty"))),
        };
        let working_dir = self.dir(p.working_dir.as_deref());
        let mut environment = global_env.to_vec();
        environment.extend(self.environment(&format!("{at}.environment"), &p.environment)?);

        let mut depends_on = Vec::new();
        for (dep, d) in &p.depends_on {
            self.unknown(&format!("{at}.depends_on.{dep}."), &d.unknown);
            let cond_text = d.condition.as_deref().unwrap_or("process_started");
            let condition = match (Condition::parse(cond_text), cond_text) {
                (Some(c), _) => c,
                (None, "process_log_ready") => {
                    self.warnings.push(format!(
                        "{at}.depends_on.{dep}: condition process_log_ready is not implemented \
                         by the embedded supervisor; waiting for process_started instead"
                    ));
                    Condition::Started
                }
                (None, other) => {
                    return Err(self.invalid(format!(
                        "{at}.depends_on.{dep}.condition: unknown condition `{other}` (expected \
                         process_started, process_healthy, process_completed or \
                         process_completed_successfully)"
                    )))
                }
            };
            match index.get(dep.as_str()) {
                Some(&i) => depends_on.push(Dependency {
                    process: i,
                    condition,
                }),
                None if disabled.iter().any(|(n, _)| n.as_str() == dep) => {
                    self.warnings.push(format!(
                        "{at}.depends_on.{dep}: `{dep}` is disabled; the dependency is ignored"
                    ));
                }
                None => {
                    return Err(self.invalid(format!(
                        "{at}.depends_on: there is no process named `{dep}`"
                    )))
                }
            }
        }

        let readiness = match &p.readiness_probe {
            Some(probe) => {
                Some(self.probe(&format!("{at}.readiness_probe"), probe, &working_dir)?)
            }
            None => None,
        };
        let restart = self.restart(&at, p)?;
        let shutdown = match &p.shutdown {
            Some(s) => {
                self.unknown(&format!("{at}.shutdown."), &s.unknown);
                let signal = match s.signal {
                    None => Signal::SIGTERM,
                    Some(number) => Signal::try_from(number).map_err(|_| {
                        self.invalid(format!(
                            "{at}.shutdown.signal: {number} is not a signal number"
                        ))
                    })?,
                };
                ShutdownSpec {
                    signal,
                    timeout: Duration::from_secs(
                        s.timeout_seconds
                            .filter(|&t| t > 0)
                            .unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT),
                    ),
                }
            }
            None => ShutdownSpec {
                signal: Signal::SIGTERM,
                timeout: Duration::from_secs(DEFAULT_SHUTDOWN_TIMEOUT),
            },
        };
        Ok(ProcessSpec {
            name: name.to_owned(),
            command,
            working_dir,
            environment,
            depends_on,
            readiness,
            restart,
            shutdown,
        })
    }

    fn restart(&mut self, at: &str, p: &ProcessFile) -> Result<RestartPolicy, LoadError> {
        let Some(a) = &p.availability else {
            return Ok(RestartPolicy {
                mode: RestartMode::No,
                backoff: Duration::from_secs(MIN_BACKOFF),
                max_restarts: 0,
                exit_on_end: false,
            });
        };
        self.unknown(&format!("{at}.availability."), &a.unknown);
        let mode = match a.restart.as_deref().unwrap_or("no") {
            "no" => RestartMode::No,
            "always" => RestartMode::Always,
            "on_failure" => RestartMode::OnFailure,
            "exit_on_failure" => RestartMode::ExitOnFailure,
            other => {
                return Err(self.invalid(format!(
                    "{at}.availability.restart: unknown policy `{other}` (expected no, always, \
                     on_failure or exit_on_failure)"
                )))
            }
        };
        Ok(RestartPolicy {
            mode,
            backoff: Duration::from_secs(a.backoff_seconds.unwrap_or(MIN_BACKOFF).max(MIN_BACKOFF)),
            max_restarts: a.max_restarts.unwrap_or(0),
            exit_on_end: a.exit_on_end,
        })
    }

    fn probe(&mut self, at: &str, p: &ProbeFile, process_dir: &Path) -> Result<Probe, LoadError> {
        self.unknown(&format!("{at}."), &p.unknown);
        let check = match (&p.exec, &p.http_get) {
            (Some(_), Some(_)) => {
                return Err(self.invalid(format!("{at}: exec and http_get are mutually exclusive")))
            }
            (None, None) => return Err(self.invalid(format!("{at}: needs exec or http_get"))),
            (Some(e), None) => {
                self.unknown(&format!("{at}.exec."), &e.unknown);
                let command = match e.command.as_deref() {
                    Some(c) if !c.trim().is_empty() => self.text(c),
                    _ => return Err(self.invalid(format!("{at}.exec.command is missing"))),
                };
                let working_dir = match e.working_dir.as_deref() {
                    Some(d) if !d.is_empty() => process_dir.join(self.text(d)),
                    _ => process_dir.to_owned(),
                };
                ProbeCheck::Exec {
                    command,
                    working_dir,
                }
            }
            (None, Some(h)) => {
                self.unknown(&format!("{at}.http_get."), &h.unknown);
                let scheme = h.scheme.as_deref().unwrap_or("http").to_ascii_lowercase();
                if scheme != "http" {
                    return Err(self.invalid(format!(
                        "{at}.http_get.scheme: `{scheme}` probes are not supported by the \
                         embedded supervisor (plain http only); use an exec probe with curl"
                    )));
                }
                let port = match (&h.port, h.num_port) {
                    (Some(PortValue::Number(n)), _) => u16::try_from(*n).ok(),
                    (Some(PortValue::Text(t)), _) => self.text(t).trim().parse().ok(),
                    (None, Some(n)) => Some(n),
                    (None, None) => None,
                };
                let port = port.filter(|&p| p > 0).ok_or_else(|| {
                    self.invalid(format!("{at}.http_get: port must be a number in 1..=65535"))
                })?;
                let path = self.text(h.path.as_deref().unwrap_or("/"));
                ProbeCheck::HttpGet {
                    host: self.text(h.host.as_deref().unwrap_or("127.0.0.1")),
                    port,
                    path: if path.starts_with('/') {
                        path
                    } else {
                        format!("/{path}")
                    },
                    headers: h
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), self.text(v)))
                        .collect(),
                    status_code: h.status_code.unwrap_or(200),
                }
            }
        };
        let secs = |v: Option<u64>, default: u64, min: u64| {
            Duration::from_secs(v.unwrap_or(default).max(min))
        };
        Ok(Probe {
            check,
            initial_delay: secs(p.initial_delay_seconds, 0, 0),
            period: secs(p.period_seconds, PROBE_PERIOD, 1),
            timeout: secs(p.timeout_seconds, PROBE_TIMEOUT, 1),
            success_threshold: p.success_threshold.unwrap_or(1).max(1),
            failure_threshold: p.failure_threshold.unwrap_or(PROBE_FAILURES).max(1),
        })
    }
}

/// Fields that change nothing here: documentation, and switches for behaviour the embedded
/// supervisor always has (ordered shutdown) or that only concern process-compose's own checks.
const ACCEPTED_SILENTLY: &[&str] = &["description", "ordered_shutdown", "is_strict"];

/// Fields of process-compose's schema that the embedded supervisor knows about but ignores
/// (warned about with a clearer message than a plain unknown field).
const SUPPORTED_ELSEWHERE: &[&str] = &[
    "log_location",
    "log_level",
    "log_length",
    "log_configuration",
    "log_format",
    "vars",
    "is_tui_disabled",
    "extends",
    "env_cmds",
    "mcp_server",
    "entrypoint",
    "env_file",
    "liveness_probe",
    "ready_log_line",
    "disable_ansi_colors",
    "namespace",
    "replicas",
    "is_foreground",
    "is_tty",
    "is_elevated",
    "is_interactive",
    "launch_timeout_seconds",
    "is_dotenv_disabled",
    "schedule",
    "watch",
    "mcp",
    "success_exit_codes",
    "command",
    "parent_only",
    "send_keys",
    "exit_on_skipped",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<Stack, LoadError> {
        load_str(yaml, Path::new("pc.yaml"), Path::new("/proj"))
    }

    #[test]
    fn malformed_yaml_names_the_line() {
        let err = load("version: \"0.5\"\nprocesses:\n  a:\n    command: [unclosed\n").unwrap_err();
        match err {
            LoadError::Syntax { line, .. } => assert!(line >= 4, "line {line}"),
            other => panic!("expected a syntax error, got {other}"),
        }
        let err = load("processes:\n  a:\n    command: x\n    readiness_probe:\n      period_seconds: soon\n      exec: {command: x}\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("pc.yaml:5:"), "{text}");
    }

    #[test]
    fn start_order_and_defaults() {
        let s = load(
            "version: '0.5'\nprocesses:\n  api:\n    command: ./api\n    depends_on:\n      db: {condition: process_healthy}\n      migrate: {condition: process_completed_successfully}\n  migrate:\n    command: ./migrate\n    working_dir: sub\n    depends_on:\n      db: {condition: process_healthy}\n  db:\n    command: postgres\n    readiness_probe:\n      exec: {command: pg_isready}\n",
        )
        .unwrap();
        let names: Vec<_> = s.processes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["db", "migrate", "api"]);
        let api = &s.processes[2];
        assert_eq!(api.depends_on.len(), 2);
        assert!(api.depends_on.contains(&Dependency {
            process: 0,
            condition: Condition::Healthy
        }));
        assert!(api.depends_on.contains(&Dependency {
            process: 1,
            condition: Condition::CompletedSuccessfully
        }));
        assert_eq!(s.processes[1].working_dir, Path::new("/proj/sub"));
        let probe = s.processes[0].readiness.as_ref().unwrap();
        assert_eq!(probe.period, Duration::from_secs(10));
        assert_eq!(probe.failure_threshold, 3);
        assert_eq!(s.processes[0].shutdown.signal, Signal::SIGTERM);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn unknown_and_unsupported_fields_warn() {
        let s = load("processes:\n  a:\n    command: x\n    colour: red\n    liveness_probe: {}\n")
            .unwrap();
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(s
            .warnings
            .iter()
            .any(|w| w.contains("processes.a.colour is not a known")));
        assert!(s
            .warnings
            .iter()
            .any(|w| w.contains("liveness_probe is a process-compose feature")));
    }

    #[test]
    fn daemons_and_bad_references_are_errors() {
        let e = load("processes:\n  a:\n    command: x\n    is_daemon: true\n").unwrap_err();
        assert!(e.to_string().contains("is_daemon"), "{e}");
        let e = load("processes:\n  a:\n    command: x\n    depends_on: {b: {}}\n").unwrap_err();
        assert!(e.to_string().contains("no process named `b`"), "{e}");
        let e = load("processes:\n  a:\n    command: x\n    depends_on: {a: {}}\n").unwrap_err();
        assert!(e.to_string().contains("cycle: a -> a"), "{e}");
        let e = load("processes:\n  a:\n    command: x\n    availability: {restart: sometimes}\n")
            .unwrap_err();
        assert!(e.to_string().contains("sometimes"), "{e}");
    }

    #[test]
    fn environment_values_are_never_in_warnings() {
        let s =
            load("environment: ['NOVALUE', 'K=secret-value']\nprocesses:\n  a:\n    command: x\n")
                .unwrap();
        assert_eq!(
            s.processes[0].environment,
            [("K".to_string(), "secret-value".to_string())]
        );
        assert!(s.warnings.iter().all(|w| !w.contains("secret-value")));
        assert_eq!(s.warnings.len(), 1);
    }

    #[test]
    fn disabled_processes_do_not_run() {
        let s = load("processes:\n  a:\n    command: x\n    depends_on: {b: {}}\n  b:\n    command: y\n    disabled: true\n").unwrap();
        assert_eq!(s.processes.len(), 1);
        assert!(s.processes[0].depends_on.is_empty());
        assert_eq!(s.warnings.len(), 1);
    }

    #[test]
    fn http_probe_port_forms() {
        let s = load("processes:\n  a:\n    command: x\n    readiness_probe:\n      http_get: {port: '8080', path: health}\n  b:\n    command: x\n    readiness_probe:\n      http_get: {num_port: 9000}\n").unwrap();
        match &s.processes[0].readiness.as_ref().unwrap().check {
            ProbeCheck::HttpGet {
                port, path, host, ..
            } => {
                assert_eq!(
                    (*port, path.as_str(), host.as_str()),
                    (8080, "/health", "127.0.0.1")
                );
            }
            other => panic!("{other:?}"),
        }
        match &s.processes[1].readiness.as_ref().unwrap().check {
            ProbeCheck::HttpGet { port, .. } => assert_eq!(*port, 9000),
            other => panic!("{other:?}"),
        }
    }
}
