//! One `stackr dev` per project: the running one holds an exclusive lock on `dev.lock` in the
//! state folder, with its pid inside, so a second one (or its `--reset`) is refused with a message
//! naming the first, instead of fighting it for the ports and the data folders. The kernel drops
//! the lock when the holder exits, however it exits.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;

use anyhow::{bail, Result};
use nix::fcntl::{Flock, FlockArg};

use crate::io_advice::{advised, nearest_existing};

pub(crate) const LOCK_FILE: &str = "dev.lock";

/// Held while the stack runs; dropping it releases the lock.
#[derive(Debug)]
pub struct DevLock {
    _file: Flock<File>,
}

impl DevLock {
    /// Takes the lock of the project at `project_dir` whose state folder is `state_dir` (created
    /// if missing).
    pub fn acquire(state_dir: &Path, project_dir: &Path) -> Result<DevLock> {
        std::fs::create_dir_all(state_dir).map_err(|err| {
            let doing = format!("cannot create the state folder {}", state_dir.display());
            advised(err, doing, nearest_existing(state_dir), project_dir)
        })?;
        let path = state_dir.join(LOCK_FILE);
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|err| {
                let doing = format!("cannot open {}", path.display());
                advised(err, doing, state_dir, project_dir)
            })?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => locked,
            Err((mut file, _)) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => String::new(),
                    pid => format!(" (pid {pid})"),
                };
                bail!(
                    "another `stackr dev` is already running for this project{holder}: it holds {}. \
                     Stop it first (Ctrl-C in its terminal), then start again",
                    path.display()
                );
            }
        };
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| write!(file, "{}", std::process::id()))
            .map_err(|err| {
                let doing = format!("cannot write {}", path.display());
                advised(err, doing, state_dir, project_dir)
            })?;
        Ok(DevLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".stackr");
        let first = DevLock::acquire(&state, dir.path()).unwrap();
        let err = DevLock::acquire(&state, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("already running") && err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        DevLock::acquire(&state, dir.path()).unwrap();
    }
}
