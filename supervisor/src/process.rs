//! Starting one command the way process-compose does (`<shell> -c <command>` with the inherited
//! environment plus the file's), except that each command gets its own process group so it can
//! be stopped as a whole.

use nix::sys::signal::{signal, SigHandler, Signal};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::{Child, Command};

use crate::handed_sockets::HeldSockets;
use crate::spec::ProcessSpec;

/// Everything about the environment that is the same for all processes of a run.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    pub shell: (String, String),
    /// Prepended to PATH (e.g. Debian's PostgreSQL bin dir).
    pub extra_path: Vec<PathBuf>,
    /// Set before each process's own environment ([`crate::DevOptions::env`]).
    pub env: Vec<(String, String)>,
    /// Listening sockets handed to processes at each start ([`crate::DevOptions::sockets`]).
    pub sockets: HeldSockets,
}

impl Launch {
    /// A shell command in its own process group, output piped, stdin closed; `parent_death` is
    /// the signal the kernel sends it if the supervisor dies without stopping it.
    pub fn command(
        &self,
        text: &str,
        dir: &Path,
        env: &[(String, String)],
        proc_name: &str,
        parent_death: Signal,
    ) -> Command {
        let mut cmd = Command::new(&self.shell.0);
        cmd.arg(&self.shell.1).arg(text);
        cmd.current_dir(dir);
        cmd.env("PC_PROC_NAME", proc_name);
        for (k, v) in self.env.iter().chain(env) {
            cmd.env(k, v);
        }
        if !self.extra_path.is_empty() {
            let base = env
                .iter()
                .rev()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| OsString::from(v))
                .or_else(|| std::env::var_os("PATH"))
                .unwrap_or_default();
            let dirs = self
                .extra_path
                .iter()
                .cloned()
                .chain(std::env::split_paths(&base));
            if let Ok(joined) = std::env::join_paths(dirs) {
                cmd.env("PATH", joined);
            }
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(false);
        // SAFETY: only async-signal-safe calls (signal, prctl) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // A supervisor started in the background by a shell inherits SIGINT/SIGQUIT as
                // ignored; children must not, or a SIGINT shutdown would be silently ignored.
                for sig in [
                    Signal::SIGINT,
                    Signal::SIGQUIT,
                    Signal::SIGTERM,
                    Signal::SIGHUP,
                    Signal::SIGPIPE,
                ] {
                    signal(sig, SigHandler::SigDfl)?;
                }
                // Safety net for the one case the ordered shutdown cannot cover, the supervisor
                // itself being SIGKILLed: the kernel then sends `parent_death` to the direct child
                // (the shell, or the server it exec'd). Only to it: a command that forks its
                // server instead of exec'ing it leaves that server to its own devices.
                #[cfg(target_os = "linux")]
                nix::sys::prctl::set_pdeathsig(parent_death)?;
                #[cfg(not(target_os = "linux"))]
                let _ = parent_death;
                Ok(())
            });
        }
        cmd
    }

    /// Starts a process of the stack. A killed supervisor stops it with its own shutdown signal,
    /// the one it stops promptly on: SIGTERM is a "smart" shutdown to PostgreSQL, which waits
    /// for every client to disconnect, so a server with a `psql` open would outlive `stackr dev`
    /// and hold its port.
    ///
    /// A process listed in [`crate::DevOptions::sockets`] gets its sockets as systemd would hand
    /// them over.
    pub fn spawn(&self, spec: &ProcessSpec) -> std::io::Result<Child> {
        let handover = self.sockets.of(&spec.name);
        let text = match &handover {
            Some(_) => std::borrow::Cow::Owned(format!(
                "{}{}",
                crate::handed_sockets::Handover::shell_prefix(),
                spec.command
            )),
            None => std::borrow::Cow::Borrowed(spec.command.as_str()),
        };
        let mut cmd = self.command(
            &text,
            &spec.working_dir,
            &spec.environment,
            &spec.name,
            spec.shutdown.signal,
        );
        if let Some(handover) = handover {
            cmd.envs(handover.env());
            // SAFETY: `place` makes only async-signal-safe calls (dup2).
            unsafe {
                cmd.pre_exec(move || handover.place());
            }
        }
        cmd.spawn()
    }
}

/// Exit code as a shell reports it: the code, or 128 + signal number when killed by a signal.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}
