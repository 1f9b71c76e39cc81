//! Stopping a process means stopping its whole process group: the `sh -c` wrapper, the server
//! it started and anything that server forked. Every command runs in its own group (pgid = pid of
//! the shell), so one `kill(-pgid, sig)` reaches all of them and nothing is left behind.

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// Sends `signal` to every process of group `pgid`. False when the group no longer exists.
pub fn signal_group(pgid: i32, signal: Signal) -> bool {
    // Never our own group (0) or every process we may signal (1 and below).
    pgid > 1 && killpg(Pid::from_raw(pgid), signal).is_ok()
}

/// Whether any process (zombies included) is still in group `pgid`.
pub fn group_alive(pgid: i32) -> bool {
    // No signal only checks for existence (EPERM: it exists, owned by someone else).
    pgid > 1
        && matches!(
            killpg(Pid::from_raw(pgid), None),
            Ok(()) | Err(Errno::EPERM)
        )
}

/// Polls until group `pgid` is empty or `within` has passed; true when it emptied.
pub async fn wait_group_gone(pgid: i32, within: Duration) -> bool {
    // A timeout past what the clock can count (a file's huge `timeout_seconds`) has no end.
    let deadline = Instant::now().checked_add(within);
    loop {
        if !group_alive(pgid) {
            return true;
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
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
pub async fn stop_group(pgid: i32, signal: Signal, timeout: Duration) -> StopOutcome {
    if !signal_group(pgid, signal) {
        return StopOutcome::Graceful;
    }
    if wait_group_gone(pgid, timeout).await {
        return StopOutcome::Graceful;
    }
    signal_group(pgid, Signal::SIGKILL);
    // SIGKILL cannot be ignored; the wait only covers the kernel reaping and our SIGCHLD reaper.
    wait_group_gone(pgid, Duration::from_secs(5)).await;
    StopOutcome::Killed
}
