//! Stopping a process means stopping its whole process group: the `sh -c` wrapper, the server
//! it started and anything that server forked. Every command runs in its own group (pgid = pid of
//! the shell), so one `kill(-pgid, sig)` reaches all of them and nothing is left behind.

use std::time::{Duration, Instant};

/// Sends `signal` to every process of group `pgid`. False when the group no longer exists.
pub fn signal_group(pgid: i32, signal: i32) -> bool {
    if pgid <= 1 {
        return false; // never signal our own group or every process we may signal
    }
    // SAFETY: kill has no memory-safety preconditions; a negative pid addresses a group.
    unsafe { libc::kill(-pgid, signal) == 0 }
}

/// Whether any process (zombies included) is still in group `pgid`.
pub fn group_alive(pgid: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(-pgid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Polls until group `pgid` is empty or `within` has passed; true when it emptied.
pub async fn wait_group_gone(pgid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if !group_alive(pgid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

/// How a group ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// Exited within the timeout after the configured signal (or was already gone).
    Graceful,
    /// Needed SIGKILL.
    Killed,
}

/// The configured signal, then SIGKILL when the group outlives `timeout`.
pub async fn stop_group(pgid: i32, signal: i32, timeout: Duration) -> StopOutcome {
    if !signal_group(pgid, signal) {
        return StopOutcome::Graceful;
    }
    if wait_group_gone(pgid, timeout).await {
        return StopOutcome::Graceful;
    }
    signal_group(pgid, libc::SIGKILL);
    // SIGKILL cannot be ignored; the wait only covers the kernel reaping and our SIGCHLD reaper.
    wait_group_gone(pgid, Duration::from_secs(5)).await;
    StopOutcome::Killed
}

/// Human name of a signal for messages (`SIGTERM`), or its number.
pub fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGINT => "SIGINT".into(),
        libc::SIGQUIT => "SIGQUIT".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGUSR1 => "SIGUSR1".into(),
        libc::SIGUSR2 => "SIGUSR2".into(),
        libc::SIGTERM => "SIGTERM".into(),
        other => format!("signal {other}"),
    }
}
