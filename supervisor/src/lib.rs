//! `stackr-supervisor`: the engine of `stackr dev` when process-compose is not installed.
//!
//! It runs the same `process-compose.yaml` process-compose would: `depends_on` conditions
//! (`process_started`, `process_healthy`, `process_completed`,
//! `process_completed_successfully`), `exec` and `http_get` readiness probes with their timing
//! fields, `availability` restart policies, per-process `environment` and `working_dir`, and an
//! ordered shutdown (dependents first; the configured signal to each process group, SIGKILL after
//! `shutdown.timeout_seconds`) on Ctrl-C/SIGTERM or when an `exit_on_failure` process fails.
//!
//! Entry points for the CLI:
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! let opts = stackr_supervisor::DevOptions::for_file("process-compose.yaml");
//! let code = stackr_supervisor::dev(&opts)?; // process-compose if on PATH, else embedded
//! # let _ = code; Ok(()) }
//! ```
//!
//! Decisions where process-compose is silent or where the embedded supervisor differs are
//! written down in `supervisor/README.md`.

mod compose_file;
mod expand;
mod graph;
mod handed_sockets;
pub mod io_advice;
mod lock;
mod logs;
mod options;
mod other_loopback;
mod parse;
mod port_hold;
mod ports;
mod probe;
mod process;
mod runner;
mod shutdown;
mod spec;
mod state;
mod state_dir_unlinked;
mod status;
mod subset;
mod tools;

use std::process::ExitCode;

use anyhow::{Context, Result};
use nix::sys::signal::Signal;

pub use handed_sockets::HandedSocket;
pub use lock::DevLock;
pub use options::{DevArgs, DevOptions};
pub use parse::{load_file, load_str, LoadError};
pub use port_hold::PortHolds;
pub use probe::READY_PERIOD;
pub use process::Launch;
pub use runner::{End, Outcome, ProcState, StopHandle, StopReason, Supervisor, Watcher};
pub use spec::{Condition, ProcessSpec, RestartMode, Stack};
pub use state::{ensure_state_dir, refuse_a_folder_of_other_files, same_folder};
pub use status::Console;
pub use tools::{check_tools, find_on_path, MissingTools};

/// `stackr dev`: hands the file to `process-compose` when it is on PATH (unless
/// `opts.embedded`), otherwise runs it with the embedded supervisor. Blocks until the stack
/// stopped; the exit code is the one `stackr dev` should exit with.
pub fn dev(opts: &DevOptions) -> Result<ExitCode> {
    dev_status(opts).map(ExitCode::from)
}

/// [`dev`] with the exit status as a number (what a test or a wrapper can compare).
pub fn dev_status(opts: &DevOptions) -> Result<u8> {
    if !opts.embedded {
        if let Some(pc) = find_on_path("process-compose") {
            return run_process_compose(&pc, opts);
        }
    }
    run_status(opts)
}

/// Runs the file with the embedded supervisor (its own tokio runtime; from async code use
/// [`run_async`]).
pub fn run(opts: &DevOptions) -> Result<ExitCode> {
    run_status(opts).map(ExitCode::from)
}

fn run_status(opts: &DevOptions) -> Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(runtime.block_on(run_async(opts))?.code)
}

/// Loads, checks and prepares (reset, state folder, tools), then supervises until the stack
/// stops. SIGINT, SIGTERM and SIGHUP start the ordered shutdown; a second one kills at once.
pub async fn run_async(opts: &DevOptions) -> Result<Outcome> {
    let (stack, launch, _lock, _held) = prepare(opts, Engine::Embedded)?;
    let names = stack.processes.iter().map(|p| p.name.clone()).collect();
    let console = Console::new(names, !opts.plain, opts.colour);
    for w in &stack.warnings {
        console.warn(w);
    }
    let supervisor = Supervisor::new(stack, launch, console);
    supervisor.set_ready_banner(opts.ready_banner.clone());
    let handle = supervisor.stop_handle();
    let signals = tokio::spawn(forward_signals(handle));
    let outcome = supervisor.run().await;
    signals.abort();
    Ok(outcome)
}

/// Which program runs the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    Embedded,
    ProcessCompose,
}

/// Everything before the first process starts: the project's dev lock (held until the returned
/// [`DevLock`] is dropped), `--reset`, the state folder, parsing, tools, the held ports (until
/// the returned [`PortHolds`] is dropped) and, for the embedded supervisor, the sockets it hands
/// over (in the returned [`Launch`]).
fn prepare(opts: &DevOptions, engine: Engine) -> Result<(Stack, Launch, DevLock, PortHolds)> {
    let mut stack = load_file(&opts.file, &opts.project_dir)?;
    if !opts.only.is_empty() {
        stack = stack
            .only(&opts.only)
            .map_err(|e| anyhow::anyhow!("{}: {e}", opts.file.display()))?;
    }
    // Before anything touches the state folder (the lock, `--reset`, its marker): through a link
    // each of them would act on whatever folder it leads to.
    state_dir_unlinked::refuse_a_linked_state_dir(
        &opts.state_dir,
        &opts.project_dir,
        &opts.made_before_first_run,
    )?;
    let expected = [&opts.reset_keeps[..], &opts.made_before_first_run[..]].concat();
    state::refuse_a_folder_of_other_files(&opts.state_dir, &expected)?;
    // Taken before `--reset`, so a reset never wipes the data of a stack that is running.
    let mut lock = DevLock::acquire(&opts.state_dir, &opts.project_dir)?;
    // Before `--reset` too: a port held by a server left running (one whose data the reset
    // would delete under it) stops the start with nothing deleted.
    ports::check_free(&opts.ports)?;
    let mut held = port_hold::hold(&opts.held_ports)?;
    held.keep_other_loopback(&opts.loopback_ports)?;
    // Before `--reset` too: an address that cannot be listened on stops the start with nothing
    // deleted. process-compose hands over nothing: its processes bind their ports themselves.
    let sockets = match engine {
        Engine::Embedded => handed_sockets::HeldSockets::bind(&opts.sockets, |process| {
            stack.processes.iter().any(|p| p.name == process)
        })?,
        Engine::ProcessCompose => handed_sockets::HeldSockets::default(),
    };
    if opts.reset {
        state::reset_state_dir(
            &opts.state_dir,
            &opts.project_dir,
            opts.yes,
            &opts.reset_keeps,
        )?;
        state::ensure_state_dir(&opts.state_dir, &opts.project_dir)?;
        // The reset deleted the lock file with the folder: lock the new one before letting go
        // of the old.
        lock = DevLock::acquire(&opts.state_dir, &opts.project_dir)?;
    }
    state::ensure_state_dir(&opts.state_dir, &opts.project_dir)?;
    let extra_path = if opts.check_tools {
        check_tools(&stack)?.extra_path
    } else {
        Vec::new()
    };
    let launch = Launch {
        shell: stack.shell.clone(),
        extra_path,
        env: opts.env.clone(),
        sockets,
    };
    Ok((stack, launch, lock, held))
}

/// The signals that stop the stack: the first stops it in order, a second kills everything.
async fn forward_signals(handle: StopHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    let listen = |kind: SignalKind, which: Signal| {
        signal(kind)
            .map_err(|e| eprintln!("stackr: cannot listen for {which}: {e}"))
            .ok()
            .map(|stream| (stream, which))
    };
    let mut streams: Vec<_> = [
        listen(SignalKind::interrupt(), Signal::SIGINT),
        listen(SignalKind::terminate(), Signal::SIGTERM),
        listen(SignalKind::hangup(), Signal::SIGHUP),
    ]
    .into_iter()
    .flatten()
    .collect();
    loop {
        let received = std::future::poll_fn(|cx| {
            for (stream, which) in &mut streams {
                if stream.poll_recv(cx).is_ready() {
                    return std::task::Poll::Ready(*which);
                }
            }
            std::task::Poll::Pending
        })
        .await;
        if handle.is_stopping() {
            eprintln!("stackr: second signal, killing every process now");
            runner::kill_everything(&handle);
        } else {
            handle.stop_for_signal(received);
        }
    }
}

/// Hands the file to process-compose, after the same `--reset` and tool checks.
fn run_process_compose(pc: &std::path::Path, opts: &DevOptions) -> Result<u8> {
    let (_, _, _lock, _held) = prepare(opts, Engine::ProcessCompose)?;
    let mut cmd = std::process::Command::new(pc);
    cmd.arg("up")
        .arg("--config")
        .arg(&opts.file)
        .current_dir(&opts.project_dir)
        .envs(opts.env.iter().map(|(k, v)| (k, v)));
    // process-compose's control API listens on 8080 by default, the port of the first base
    // service's API; `stackr dev` does not use that API.
    cmd.arg("--no-server");
    if opts.plain {
        cmd.arg("--tui=false");
    }
    // process-compose starts the named processes and their dependencies, as the embedded
    // supervisor does.
    cmd.args(&opts.only);
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {}", pc.display()))?;
    Ok(status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(1))
}
