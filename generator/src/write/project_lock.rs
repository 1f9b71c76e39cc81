//! One writing command at a time in a project: two `stackr add service` run at once each read the
//! config before the other wrote it, and one service was lost. The lock is an `flock` on the
//! project's folder itself (no file to git-ignore); the kernel releases it when the process
//! ends, however it ends. Taking it also finishes the writes a killed command left behind.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{Context, Result};

use super::finish_interrupted;

/// Held until dropped.
pub struct ProjectLock(#[allow(dead_code)] Option<File>);

/// Locks `root` for a command that writes in it, waiting (and saying so) while another holds it.
/// A folder that cannot be opened is left to the command, which says what is wrong with it.
pub fn lock_for_writing(root: &Path) -> Result<ProjectLock> {
    let Ok(folder) = File::open(root) else {
        return Ok(ProjectLock(None));
    };
    let flock = |operation| {
        // SAFETY: flock takes any open descriptor; `folder` outlives the call.
        match unsafe { libc::flock(folder.as_raw_fd(), operation) } {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    };
    if let Err(busy) = flock(libc::LOCK_EX | libc::LOCK_NB) {
        if busy.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(busy).with_context(|| format!("locking {}", root.display()));
        }
        eprintln!(
            "stackr: waiting for another stackr command writing in {}",
            root.display()
        );
        flock(libc::LOCK_EX).with_context(|| format!("locking {}", root.display()))?;
    }
    let finished = finish_interrupted(root)?;
    if !finished.is_empty() {
        eprintln!(
            "stackr: finished writing {} file(s) a stopped stackr command had left: {}",
            finished.len(),
            finished.join(", ")
        );
    }
    Ok(ProjectLock(Some(folder)))
}
