//! Readiness probes: `exec` (a shell command that must exit 0) and `http_get` (a plain HTTP GET
//! that must answer the expected status), with process-compose's timing fields.
//!
//! Two deliberate differences from process-compose:
//!
//! - Until the first success the probe is retried every [`FAST_RETRY`] instead of every
//!   `period_seconds`, within the same grace period (`initial_delay + period ×
//!   failure_threshold`). A database that is up after 300 ms is then reported ready after
//!   ~300 ms rather than after the next 10 s period; the decision of when a process has failed
//!   its readiness is unchanged.
//! - Once ready, a probe that keeps passing runs every [`READY_PERIOD`] at the most often
//!   (`period_seconds` when that is longer). Every exec probe is a shell and a client program
//!   (and for PostgreSQL a backend it forks): a stack of 25 services probing 50 servers every
//!   second spends a tenth of a core or more on it, for nothing, since a server that dies is seen
//!   at once by its exit. After a failed check the probe returns to `period_seconds`, so a hung
//!   server is given up on at most [`READY_PERIOD`] later than process-compose would.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::process::Launch;
use crate::shutdown::signal_group;
use crate::spec::{Probe, ProbeCheck, ProcessSpec};

pub const FAST_RETRY: Duration = Duration::from_millis(100);
pub const READY_PERIOD: Duration = Duration::from_secs(60);

/// Runs one probe attempt; `Err` carries a short reason for the status line.
pub async fn check_once(probe: &Probe, spec: &ProcessSpec, launch: &Launch) -> Result<(), String> {
    match &probe.check {
        ProbeCheck::Exec {
            command,
            working_dir,
        } => exec(command, working_dir, spec, launch, probe.timeout).await,
        ProbeCheck::HttpGet {
            host,
            port,
            path,
            headers,
            status_code,
        } => {
            match tokio::time::timeout(probe.timeout, http_get(host, *port, path, headers)).await {
                Ok(Ok(code)) if code == *status_code => Ok(()),
                Ok(Ok(code)) => Err(format!(
                    "GET {path} answered {code}, expected {status_code}"
                )),
                Ok(Err(e)) => Err(format!("GET http://{host}:{port}{path}: {e}")),
                Err(_) => Err(format!(
                    "GET {path} timed out after {}s",
                    probe.timeout.as_secs()
                )),
            }
        }
    }
}

async fn exec(
    command: &str,
    dir: &std::path::Path,
    spec: &ProcessSpec,
    launch: &Launch,
    timeout: Duration,
) -> Result<(), String> {
    // A probe is a short check, not the server: plain SIGTERM ends it.
    let mut cmd = launch.command(command, dir, &spec.environment, &spec.name, Signal::SIGTERM);
    // Output is kept only for the failure message.
    cmd.stdout(std::process::Stdio::null());
    let mut child = cmd.spawn().map_err(|e| format!("cannot run probe: {e}"))?;
    let pgid = child.id().map(|p| p as i32);
    let mut stderr = child.stderr.take();
    let run = async {
        let mut err_text = String::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.take(4096).read_to_string(&mut err_text).await;
        }
        let status = child.wait().await;
        (status, err_text)
    };
    match tokio::time::timeout(timeout, run).await {
        Ok((Ok(status), _)) if status.success() => Ok(()),
        Ok((Ok(status), err_text)) => {
            let last = err_text.lines().last().unwrap_or("").trim().to_owned();
            Err(format!(
                "`{command}` exited with {}{}",
                crate::process::exit_code(status),
                if last.is_empty() {
                    String::new()
                } else {
                    format!(": {last}")
                }
            ))
        }
        Ok((Err(e), _)) => Err(format!("probe wait failed: {e}")),
        Err(_) => {
            if let Some(pgid) = pgid {
                signal_group(pgid, Signal::SIGKILL);
            }
            let _ = child.wait().await;
            Err(format!(
                "`{command}` timed out after {}s",
                timeout.as_secs()
            ))
        }
    }
}

/// A minimal HTTP/1.1 GET: connect, send, read the status line. Enough for a health check and
/// it keeps a full HTTP client out of the supervisor's dependencies.
async fn http_get(
    host: &str,
    port: u16,
    path: &str,
    headers: &[(String, String)],
) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect((host, port)).await?;
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: stackr-supervisor\r\nAccept: */*\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 1024 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    let code = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response")
        })?;
    Ok(code)
}

/// How a readiness probe loop ended.
#[derive(Debug)]
pub enum ProbeEnd {
    /// `failure_threshold` consecutive failures (or no success within the grace period).
    Failed { last_error: String },
}

/// Probes until the process is ready (calls `on_ready` once) and keeps probing afterwards;
/// returns only when the probe gives up. Cancel by dropping the future.
pub async fn readiness_loop(
    probe: &Probe,
    spec: &ProcessSpec,
    launch: &Launch,
    mut on_ready: impl FnMut(),
) -> ProbeEnd {
    tokio::time::sleep(probe.initial_delay).await;
    let grace = probe.period * probe.failure_threshold;
    let started = Instant::now();
    let mut successes = 0u32;
    let mut last_error = String::new();

    // Until ready: fast retries within the grace period.
    loop {
        match check_once(probe, spec, launch).await {
            Ok(()) => {
                successes += 1;
                if successes >= probe.success_threshold {
                    break;
                }
            }
            Err(e) => {
                successes = 0;
                last_error = e;
            }
        }
        if started.elapsed() >= grace {
            return ProbeEnd::Failed { last_error };
        }
        tokio::time::sleep(FAST_RETRY).await;
    }
    on_ready();

    // Ready: checks spaced by READY_PERIOD while they pass, process-compose's rhythm once one
    // failed; `failure_threshold` consecutive failures to give up.
    let mut failures = 0u32;
    loop {
        let pause = match failures {
            0 => probe.period.max(READY_PERIOD),
            _ => probe.period,
        };
        tokio::time::sleep(pause).await;
        match check_once(probe, spec, launch).await {
            Ok(()) => failures = 0,
            Err(e) => {
                failures += 1;
                last_error = e;
                if failures >= probe.failure_threshold {
                    return ProbeEnd::Failed { last_error };
                }
            }
        }
    }
}
