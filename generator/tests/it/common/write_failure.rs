//! Running stackr where writing fails for a reason of the machine's, as it does for users: as a
//! user the folders' modes stop, or on a small file system of the test's own (filled up, or
//! mounted read-only). Each returns `None` where the technique is unavailable, and says so; the
//! test then skips.

use std::path::Path;
use std::process::{Command, Output};

use super::stderr;

/// The UID and GID stackr runs as when the tests run as root, whom file modes do not stop.
const NOBODY: &str = "65534";

/// What [`stackr_on_a_small_disk`] does to the file system before stackr runs: fills it up.
pub const FILL_UP: &str = "dd if=/dev/zero of=disk/filler bs=4k 2>/dev/null";

/// What [`stackr_on_a_small_disk`] does to the file system before stackr runs: mounts it
/// read-only, as a project on a read-only mount (a live system, a container's image) is.
pub const MOUNT_READ_ONLY: &str = "mount -o remount,ro disk || exit 77";

/// Runs `stackr ARGS` in `dir` as a user the folders' modes apply to: this one, or nobody when
/// this one is root. `None` when root cannot become nobody here.
pub fn stackr_as_a_user(dir: &Path, args: &[&str]) -> Option<Output> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some(super::stackr(dir, args));
    }
    let output = Command::new("setpriv")
        .args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_stackr"))
        .args(args)
        .current_dir(dir)
        .env_remove("STACKR_TEST_FAIL_AFTER")
        .output()
        .ok()
        .filter(|output| !stderr(output).contains("setpriv:"));
    if output.is_none() {
        eprintln!("cannot run stackr as another user than root here: skipped");
    }
    output
}

/// Runs `stackr ARGS` in `dir/disk`, where a 4 MiB tmpfs is mounted in a mount namespace of its
/// own, after the shell commands `prepare` (run in `dir`: they put the project in `disk/`, then
/// [`FILL_UP`] or [`MOUNT_READ_ONLY`]). A command of `prepare` that exits 77 means it cannot be
/// done here. `None` when there is no such file system here.
pub fn stackr_on_a_small_disk(dir: &Path, prepare: &str, args: &[&str]) -> Option<Output> {
    stackr_on_a_small_disk_then(dir, prepare, args, "")
}

/// [`stackr_on_a_small_disk`], then the shell commands `after` in `dir/disk` while the file
/// system is still there (it goes with the mount namespace); the output is stackr's exit status
/// with both's output.
pub fn stackr_on_a_small_disk_then(
    dir: &Path,
    prepare: &str,
    args: &[&str],
    after: &str,
) -> Option<Output> {
    std::fs::create_dir(dir.join("disk")).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=4m tmpfs disk || exit 77
         {prepare}
         cd disk || exit 1
         '{}' \"$@\"
         status=$?
         {after}
         exit $status",
        env!("CARGO_BIN_EXE_stackr")
    );
    let Ok(output) = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
            "sh",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("STACKR_TEST_FAIL_AFTER")
        .output()
    else {
        eprintln!("unshare is not installed: skipped");
        return None;
    };
    let message = stderr(&output);
    if output.status.code() == Some(77) || message.contains("unshare:") {
        eprintln!("cannot mount a file system of the test's own here: skipped ({message})");
        return None;
    }
    Some(output)
}

/// Flattened to one line of single spaces.
pub fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
