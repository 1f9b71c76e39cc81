//! The supervisor proper: one task per process (wait for dependencies → run → probe → restart),
//! a single watch channel holding every process's state (so any task can wait for any
//! combination of states), and an ordered shutdown that stops dependents before what they
//! depend on.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::logs::pump_lines;
use crate::probe::{readiness_loop, ProbeEnd};
use crate::process::{exit_code, Launch};
use crate::shutdown::{group_alive, signal_group, stop_group, StopOutcome};
use crate::spec::{Condition, RestartMode, Stack};
use crate::status::{secs, Console, Phase};

/// Where one process is in its life, as dependents see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcState {
    /// Waiting for its dependencies.
    Pending,
    /// Its command runs; `ready` once the readiness probe passed (immediately without a probe).
    Running { ready: bool },
    /// Exited and waits out the backoff before running again.
    Restarting,
    /// Will not run again.
    Done(End),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Exited on its own with this code and the restart policy let it be.
    Completed(i32),
    /// Never started: a dependency can no longer be met.
    Skipped,
    /// Stopped by the supervisor's shutdown (or never started because of it).
    Stopped { started: bool },
}

/// Why the stack is being stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    Signal(Signal),
    /// A process with `restart: exit_on_failure` failed.
    ProcessFailed {
        name: String,
        code: i32,
    },
    /// A process with `exit_on_end` ended.
    ProcessEnded {
        name: String,
        code: i32,
    },
    /// A dependency of `name` can never be met (e.g. a one-shot it needs failed).
    DependencyFailed {
        name: String,
        why: String,
    },
    /// Asked through [`StopHandle`].
    Requested,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Process exit code for `stackr dev`.
    pub code: u8,
    /// What stopped the stack; `None` when every process ended on its own.
    pub reason: Option<StopReason>,
    /// Time from start until every process was ready (or completed), if that happened.
    pub all_ready_after: Option<Duration>,
}

/// Lets code outside the supervisor stop a running stack (tests, benchmarks, embedding).
#[derive(Clone)]
pub struct StopHandle {
    ctx: Arc<Ctx>,
}

impl StopHandle {
    pub fn stop(&self) {
        self.ctx.request_stop(StopReason::Requested);
    }
}

/// Observes the run: every state change, and the moment the stack is all ready.
#[derive(Clone)]
pub struct Watcher {
    rx: watch::Receiver<Vec<ProcState>>,
    must_complete: Arc<Vec<bool>>,
}

impl Watcher {
    /// Resolves once every process is ready or completed successfully; false if that can no
    /// longer happen (something ended otherwise).
    pub async fn all_ready(&mut self) -> bool {
        match self
            .rx
            .wait_for(|s| {
                all_ready(s, &self.must_complete)
                    || s.iter()
                        .any(|p| matches!(p, ProcState::Done(e) if *e != End::Completed(0)))
            })
            .await
        {
            Ok(s) => all_ready(&s, &self.must_complete),
            Err(_) => false,
        }
    }

    pub fn states(&self) -> Vec<ProcState> {
        self.rx.borrow().clone()
    }
}

/// Every process is ready, or completed successfully. A process others wait for with a
/// `process_completed*` condition is a one-shot: running is not enough, it must have completed.
fn all_ready(states: &[ProcState], must_complete: &[bool]) -> bool {
    states
        .iter()
        .zip(must_complete)
        .all(|(s, &one_shot)| match s {
            ProcState::Done(End::Completed(0)) => true,
            ProcState::Running { ready: true } => !one_shot,
            _ => false,
        })
}

/// Which processes some other process waits for to complete.
fn one_shots(stack: &Stack) -> Vec<bool> {
    let mut v = vec![false; stack.processes.len()];
    for p in &stack.processes {
        for d in &p.depends_on {
            if matches!(
                d.condition,
                Condition::Completed | Condition::CompletedSuccessfully
            ) {
                v[d.process] = true;
            }
        }
    }
    v
}

struct Ctx {
    stack: Stack,
    launch: Launch,
    console: Console,
    states: watch::Sender<Vec<ProcState>>,
    /// Current process group of each process while its command runs.
    groups: Vec<Mutex<Option<i32>>>,
    /// Cancelled once, when the stack starts stopping; `stop_reason` says why (set first).
    stop: CancellationToken,
    stop_reason: Mutex<Option<StopReason>>,
    started: Instant,
    /// When every process was first ready (or completed successfully).
    all_ready_at: Mutex<Option<Duration>>,
    must_complete: Arc<Vec<bool>>,
    /// Lines printed under the "all ready" line (what to open, how to stop).
    ready_banner: Mutex<Vec<String>>,
}

impl Ctx {
    fn set(&self, i: usize, s: ProcState) {
        self.states.send_modify(|v| {
            v[i] = s;
            // Recorded here, synchronously with the change, so the time is exact and already
            // known to anyone who reacts to the same change.
            if all_ready(v, &self.must_complete) {
                let mut at = self
                    .all_ready_at
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                at.get_or_insert_with(|| self.started.elapsed());
            }
        });
    }

    /// The first reason wins; later ones (a process failing while the stack stops) are dropped.
    fn request_stop(&self, reason: StopReason) {
        self.stop_reason
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert(reason);
        self.stop.cancel();
    }

    fn stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    async fn until_stopping(&self) {
        self.stop.cancelled().await;
    }
}

/// Runs `stack` until it stops; prints through `console`.
pub struct Supervisor {
    ctx: Arc<Ctx>,
}

impl Supervisor {
    pub fn new(stack: Stack, launch: Launch, console: Console) -> Self {
        let n = stack.processes.len();
        let (states, _) = watch::channel(vec![ProcState::Pending; n]);
        let must_complete = Arc::new(one_shots(&stack));
        Supervisor {
            ctx: Arc::new(Ctx {
                groups: (0..n).map(|_| Mutex::new(None)).collect(),
                stack,
                launch,
                console,
                states,
                stop: CancellationToken::new(),
                stop_reason: Mutex::new(None),
                started: Instant::now(),
                all_ready_at: Mutex::new(None),
                must_complete,
                ready_banner: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Lines to print once every process is ready, under the line saying so.
    pub fn set_ready_banner(&self, lines: Vec<String>) {
        *self
            .ctx
            .ready_banner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = lines;
    }

    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            ctx: self.ctx.clone(),
        }
    }

    pub fn watcher(&self) -> Watcher {
        Watcher {
            rx: self.ctx.states.subscribe(),
            must_complete: self.ctx.must_complete.clone(),
        }
    }

    /// Starts everything, runs until a stop reason or until every process ended, then stops
    /// all processes in reverse dependency order. Signals are the caller's business: pass
    /// them in through [`StopHandle`] (see `crate::run_stack`).
    pub async fn run(self) -> Outcome {
        let ctx = self.ctx;
        let n = ctx.stack.processes.len();
        let mut tasks = JoinSet::new();
        for i in 0..n {
            tasks.spawn(supervise(ctx.clone(), i));
        }

        // Announce "all ready" once.
        {
            let ctx = ctx.clone();
            let mut watcher = Watcher {
                rx: ctx.states.subscribe(),
                must_complete: ctx.must_complete.clone(),
            };
            tokio::spawn(async move {
                if watcher.all_ready().await {
                    let at = *ctx
                        .all_ready_at
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    let after = at.unwrap_or_else(|| ctx.started.elapsed());
                    ctx.console.note(&match n {
                        1 => format!("the 1 process is ready in {}", secs(after)),
                        _ => format!("all {n} processes ready in {}", secs(after)),
                    });
                    let banner = ctx
                        .ready_banner
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .clone();
                    for line in banner {
                        ctx.console.note(&line);
                    }
                }
            });
        }

        // Wait for a stop reason, or for every process to have ended on its own.
        let mut states = ctx.states.subscribe();
        tokio::select! {
            _ = ctx.until_stopping() => {}
            _ = states.wait_for(|s| s.iter().all(|p| matches!(p, ProcState::Done(_)))) => {}
        }
        let reason = ctx
            .stop_reason
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(reason) = &reason {
            ctx.console
                .note(&format!("stopping: {}", describe_reason(reason)));
            ordered_shutdown(&ctx).await;
        }
        while tasks.join_next().await.is_some() {}
        ctx.console.finish();

        let final_states = ctx.states.borrow().clone();
        let failed_on_its_own = final_states
            .iter()
            .any(|s| matches!(s, ProcState::Done(End::Completed(c)) if *c != 0));
        let code = match &reason {
            Some(StopReason::ProcessFailed { code, .. }) => clamp_code(*code),
            Some(StopReason::DependencyFailed { .. }) => 1,
            Some(StopReason::ProcessEnded { code, .. }) => {
                clamp_code(*code).max(u8::from(failed_on_its_own))
            }
            Some(StopReason::Signal(_) | StopReason::Requested) | None => {
                u8::from(failed_on_its_own)
            }
        };
        let all_ready_after = *ctx
            .all_ready_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Outcome {
            code,
            reason,
            all_ready_after,
        }
    }
}

fn clamp_code(code: i32) -> u8 {
    if code == 0 {
        0
    } else {
        u8::try_from(code).ok().filter(|&c| c != 0).unwrap_or(1)
    }
}

fn describe_reason(r: &StopReason) -> String {
    match r {
        StopReason::Signal(s) => format!("received {s}"),
        StopReason::ProcessFailed { name, code } => {
            format!(
                "{name} failed with exit code {}, and the stack stops when it fails (restart: exit_on_failure)",
                crate::status::exit_text(*code)
            )
        }
        StopReason::ProcessEnded { name, code } => {
            format!(
                "{name} ended with {}, and the stack stops when it ends (exit_on_end)",
                crate::status::exit_text(*code)
            )
        }
        StopReason::DependencyFailed { name, why } => format!("{name} cannot start: {why}"),
        StopReason::Requested => "stop requested".into(),
    }
}

/// Whether a process that has not started yet needs `i` in a way `i`'s `end` leaves unmet
/// forever. Asked before `end` is recorded: once it is, such a process gives up waiting.
fn awaited_in_vain(ctx: &Ctx, i: usize, end: ProcState) -> bool {
    let states = ctx.states.borrow();
    ctx.stack.processes.iter().enumerate().any(|(d, p)| {
        states[d] == ProcState::Pending
            && p.depends_on
                .iter()
                .any(|dep| dep.process == i && condition_met(end, dep.condition) == Some(false))
    })
}

/// Whether a dependency is met (`Some(true)`), can never be met (`Some(false)`), or may still be.
fn condition_met(state: ProcState, condition: Condition) -> Option<bool> {
    use ProcState::*;
    match (condition, state) {
        (Condition::Started, Running { .. } | Restarting | Done(End::Completed(_))) => Some(true),
        (Condition::Started, Done(End::Stopped { started })) => Some(started),
        (Condition::Healthy, Running { ready: true }) => Some(true),
        (Condition::Completed, Done(End::Completed(_))) => Some(true),
        (Condition::CompletedSuccessfully, Done(End::Completed(0))) => Some(true),
        (_, Done(_)) => Some(false),
        _ => None,
    }
}

fn unmet_reason(dep: &str, state: ProcState, condition: Condition) -> String {
    let what = match state {
        ProcState::Done(End::Completed(c)) => {
            format!("exited with {}", crate::status::exit_text(c))
        }
        ProcState::Done(End::Skipped) => "was not started".into(),
        ProcState::Done(End::Stopped { .. }) => "was stopped".into(),
        _ => "ended".into(),
    };
    format!("{dep} {what}, and {}", condition.requirement())
}

/// Waits until all dependencies of `i` are met; `Err` says which one never will be.
async fn wait_dependencies(ctx: &Ctx, i: usize) -> Result<(), String> {
    let deps = &ctx.stack.processes[i].depends_on;
    let mut rx = ctx.states.subscribe();
    let decided = rx
        .wait_for(|s| {
            deps.iter()
                .all(|d| condition_met(s[d.process], d.condition).is_some())
        })
        .await
        .map(|s| s.clone())
        .map_err(|_| "supervisor closed".to_string())?;
    for d in deps {
        let state = decided[d.process];
        if condition_met(state, d.condition) == Some(false) {
            return Err(unmet_reason(
                &ctx.stack.processes[d.process].name,
                state,
                d.condition,
            ));
        }
    }
    Ok(())
}

/// The life of process `i`: wait for its dependencies, then run it until it ends for good.
async fn supervise(ctx: Arc<Ctx>, i: usize) {
    if !dependencies_allow_start(&ctx, i).await {
        return;
    }
    let mut restarts = 0u32;
    while let RunEnd::Exited { code, started } = run_once(&ctx, i, restarts).await {
        if !restart_after_exit(&ctx, i, code, started, restarts).await {
            break;
        }
        restarts += 1;
    }
    if !ctx.stopping() {
        ctx.launch
            .sockets
            .refuse_calls(&ctx.stack.processes[i].name);
    }
}

/// Waits for the dependencies of `i`; false (with the final state set) when it must not start.
async fn dependencies_allow_start(ctx: &Ctx, i: usize) -> bool {
    let spec = &ctx.stack.processes[i];
    if !spec.depends_on.is_empty() {
        ctx.console.phase(i, &Phase::Waiting);
    }
    let deps = tokio::select! {
        r = wait_dependencies(ctx, i) => r,
        _ = ctx.until_stopping() => {
            ctx.set(i, ProcState::Done(End::Stopped { started: false }));
            return false;
        }
    };
    let Err(why) = deps else {
        return true;
    };
    if ctx.stopping() {
        ctx.set(i, ProcState::Done(End::Stopped { started: false }));
        return false;
    }
    ctx.console.phase(i, &Phase::Skipped { why: why.clone() });
    ctx.set(i, ProcState::Done(End::Skipped));
    ctx.request_stop(StopReason::DependencyFailed {
        name: spec.name.clone(),
        why,
    });
    false
}

/// How one run of a process ended.
enum RunEnd {
    /// Its command exited (or was stopped by a failed readiness probe) with `code`.
    Exited { code: i32, started: Instant },
    /// It did not run (the stack was stopping, or the command could not start): its final state
    /// is already set.
    Over,
}

/// Starts process `i` once and follows it until its command has exited.
async fn run_once(ctx: &Arc<Ctx>, i: usize, restarts: u32) -> RunEnd {
    let spec = &ctx.stack.processes[i];
    let started = Instant::now();
    // Spawn under the group lock, after checking the stop flag: the shutdown sets the flag
    // first and then reads the group, so a process can never start unseen by it.
    let spawned = {
        let mut group = ctx.groups[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if ctx.stopping() {
            drop(group);
            ctx.set(
                i,
                ProcState::Done(End::Stopped {
                    started: restarts > 0,
                }),
            );
            return RunEnd::Over;
        }
        ctx.launch.spawn(spec).inspect(|child| {
            *group = child.id().map(|p| p as i32);
        })
    };
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            ctx.console.warn(&format!(
                "{}: cannot start `{}`: {e}",
                spec.name, ctx.launch.shell.0
            ));
            ctx.set(i, ProcState::Done(End::Completed(127)));
            ctx.console.phase(
                i,
                &Phase::Completed {
                    code: 127,
                    after: started.elapsed(),
                },
            );
            if spec.restart.mode == RestartMode::ExitOnFailure {
                ctx.request_stop(StopReason::ProcessFailed {
                    name: spec.name.clone(),
                    code: 127,
                });
            }
            return RunEnd::Over;
        }
    };
    let pgid = child.id().map_or(0, |p| p as i32);

    let mut pumps = JoinSet::new();
    if let Some(out) = child.stdout.take() {
        let ctx = ctx.clone();
        pumps.spawn(async move { pump_lines(out, |l| ctx.console.log(i, false, l)).await });
    }
    if let Some(err) = child.stderr.take() {
        let ctx = ctx.clone();
        pumps.spawn(async move { pump_lines(err, |l| ctx.console.log(i, true, l)).await });
    }

    let ready_now = spec.readiness.is_none();
    ctx.set(i, ProcState::Running { ready: ready_now });
    ctx.console.phase(
        i,
        if ready_now {
            &Phase::Running
        } else {
            &Phase::Starting
        },
    );

    let probe = async {
        match &spec.readiness {
            Some(p) => {
                readiness_loop(p, spec, &ctx.launch, || {
                    // Print first: setting the state releases dependents, whose "starting"
                    // lines should come after this one.
                    ctx.console.phase(
                        i,
                        &Phase::Ready {
                            after: started.elapsed(),
                        },
                    );
                    ctx.set(i, ProcState::Running { ready: true });
                })
                .await
            }
            None => std::future::pending().await,
        }
    };
    let status = tokio::select! {
        status = child.wait() => status,
        ProbeEnd::Failed { last_error } = probe => {
            ctx.console.warn(&format!(
                "{}: readiness probe failed ({last_error}); stopping it",
                spec.name
            ));
            // Reap the shell while waiting for its group to empty: an unreaped zombie
            // still counts as a member of the group.
            let (_, status) = tokio::join!(
                stop_group(pgid, spec.shutdown.signal, spec.shutdown.timeout),
                child.wait()
            );
            status
        }
    };
    let code = status.map_or(1, exit_code);
    // The shell is gone; anything it left in its group must not outlive it.
    if group_alive(pgid) {
        let (sig, timeout) = (spec.shutdown.signal, spec.shutdown.timeout);
        tokio::spawn(async move { stop_group(pgid, sig, timeout).await });
    }
    // Let the last lines of output through before the status line.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while pumps.join_next().await.is_some() {}
    })
    .await;
    *ctx.groups[i]
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    RunEnd::Exited { code, started }
}

/// After process `i` exited with `code`: true to run it again (after its backoff); otherwise
/// sets its final state and, if its restart rules say so, stops the stack.
async fn restart_after_exit(
    ctx: &Ctx,
    i: usize,
    code: i32,
    started: Instant,
    restarts: u32,
) -> bool {
    let spec = &ctx.stack.processes[i];
    if ctx.stopping() {
        ctx.console.phase(i, &Phase::Stopped);
        ctx.set(i, ProcState::Done(End::Stopped { started: true }));
        return false;
    }
    if should_restart(spec.restart.mode, spec.restart.max_restarts, code, restarts) {
        ctx.set(i, ProcState::Restarting);
        ctx.console.phase(
            i,
            &Phase::Restarting {
                restarts: restarts + 1,
                code,
            },
        );
        tokio::select! {
            _ = tokio::time::sleep(spec.restart.backoff) => return true,
            _ = ctx.until_stopping() => {
                ctx.console.phase(i, &Phase::Stopped);
                ctx.set(i, ProcState::Done(End::Stopped { started: true }));
                return false;
            }
        }
    }
    ctx.console.phase(
        i,
        &Phase::Completed {
            code,
            after: started.elapsed(),
        },
    );
    let end = ProcState::Done(End::Completed(code));
    let awaited = awaited_in_vain(ctx, i, end);
    ctx.set(i, end);
    let unlimited = 0;
    if restarts > 0 && should_restart(spec.restart.mode, unlimited, code, restarts) {
        let plural = if restarts == 1 { "" } else { "s" };
        // A process still waiting on this one can now never start, which stops the stack:
        // the note then only says what to do, the stop line that follows says the rest.
        let then = if awaited {
            "Fix the cause, then start `stackr dev` again"
        } else {
            "The rest of the stack runs on without it: fix the cause, then stop the stack and \
             start `stackr dev` again"
        };
        ctx.console.warn(&format!(
            "{}: gave up after {restarts} restart{plural} (its max_restarts); its output above \
             says why. {then}",
            spec.name
        ));
    }
    if code != 0 && spec.restart.mode == RestartMode::ExitOnFailure {
        ctx.request_stop(StopReason::ProcessFailed {
            name: spec.name.clone(),
            code,
        });
    } else if spec.restart.exit_on_end {
        ctx.request_stop(StopReason::ProcessEnded {
            name: spec.name.clone(),
            code,
        });
    }
    false
}

/// process-compose's rule (`isRestartable`), minus the stop flag the caller checks first.
fn should_restart(mode: RestartMode, max_restarts: u32, code: i32, restarts: u32) -> bool {
    let within_limit = max_restarts == 0 || restarts < max_restarts;
    match mode {
        RestartMode::No | RestartMode::ExitOnFailure => false,
        RestartMode::OnFailure => code != 0 && within_limit,
        RestartMode::Always => within_limit,
    }
}

/// Stops every process, each only after all processes that depend on it are down.
async fn ordered_shutdown(ctx: &Arc<Ctx>) {
    let n = ctx.stack.processes.len();
    let mut stoppers = JoinSet::new();
    for i in 0..n {
        let ctx = ctx.clone();
        stoppers.spawn(async move {
            let dependents = ctx.stack.dependents_of(i);
            let mut rx = ctx.states.subscribe();
            let _ = rx
                .wait_for(|s| {
                    dependents
                        .iter()
                        .all(|&d| matches!(s[d], ProcState::Done(_)))
                })
                .await;
            let group = *ctx.groups[i]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(pgid) = group {
                let spec = &ctx.stack.processes[i];
                ctx.console.phase(i, &Phase::Stopping);
                let outcome = stop_group(pgid, spec.shutdown.signal, spec.shutdown.timeout).await;
                if outcome == StopOutcome::Killed {
                    ctx.console.warn(&format!(
                        "{}: did not stop within {}s of {}; killed",
                        spec.name,
                        spec.shutdown.timeout.as_secs(),
                        spec.shutdown.signal
                    ));
                }
            }
            let _ = rx.wait_for(|s| matches!(s[i], ProcState::Done(_))).await;
        });
    }
    while stoppers.join_next().await.is_some() {}
}

/// Last resort on a second Ctrl-C: SIGKILL every running group now.
pub fn kill_everything(handle: &StopHandle) {
    for g in &handle.ctx.groups {
        if let Some(pgid) = *g.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            signal_group(pgid, Signal::SIGKILL);
        }
    }
}

impl StopHandle {
    /// Stops because of a signal the embedding program received.
    pub fn stop_for_signal(&self, signal: Signal) {
        self.ctx.request_stop(StopReason::Signal(signal));
    }

    pub fn is_stopping(&self) -> bool {
        self.ctx.stopping()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_rules_match_process_compose() {
        use RestartMode::*;
        assert!(!should_restart(No, 0, 1, 0));
        assert!(!should_restart(ExitOnFailure, 0, 1, 0));
        assert!(should_restart(OnFailure, 0, 1, 100));
        assert!(!should_restart(OnFailure, 0, 0, 0));
        assert!(should_restart(OnFailure, 2, 1, 1));
        assert!(!should_restart(OnFailure, 2, 1, 2));
        assert!(should_restart(Always, 0, 0, 7));
        assert!(!should_restart(Always, 1, 0, 1));
    }

    /// The line saying why the stack stopped names a death by signal as the status line does.
    #[test]
    fn a_stop_for_a_process_killed_by_a_signal_names_it() {
        for reason in [
            StopReason::ProcessFailed {
                name: "build".into(),
                code: 137,
            },
            StopReason::ProcessEnded {
                name: "build".into(),
                code: 137,
            },
        ] {
            let said = describe_reason(&reason);
            assert!(said.contains("137 (killed by SIGKILL"), "{said}");
        }
    }

    /// The line saying why a process did not start names a death by signal as the status line
    /// before it does.
    #[test]
    fn a_dependency_killed_by_a_signal_is_named_so() {
        let why = unmet_reason(
            "build",
            ProcState::Done(End::Completed(137)),
            Condition::CompletedSuccessfully,
        );
        assert!(why.contains("exited with 137 (killed by SIGKILL"), "{why}");
    }

    #[test]
    fn conditions() {
        use ProcState::*;
        assert_eq!(condition_met(Pending, Condition::Started), None);
        assert_eq!(
            condition_met(Running { ready: false }, Condition::Started),
            Some(true)
        );
        assert_eq!(
            condition_met(Running { ready: false }, Condition::Healthy),
            None
        );
        assert_eq!(
            condition_met(Running { ready: true }, Condition::Healthy),
            Some(true)
        );
        assert_eq!(
            condition_met(Done(End::Completed(0)), Condition::Healthy),
            Some(false)
        );
        assert_eq!(
            condition_met(Done(End::Completed(3)), Condition::Completed),
            Some(true)
        );
        assert_eq!(
            condition_met(Done(End::Completed(3)), Condition::CompletedSuccessfully),
            Some(false)
        );
        assert_eq!(
            condition_met(Restarting, Condition::CompletedSuccessfully),
            None
        );
        assert_eq!(
            condition_met(Done(End::Skipped), Condition::Started),
            Some(false)
        );
    }

    #[test]
    fn one_shots_count_as_ready_only_once_completed() {
        use ProcState::*;
        let running = Running { ready: true };
        assert!(all_ready(
            &[running, Done(End::Completed(0))],
            &[false, true]
        ));
        assert!(!all_ready(&[running, running], &[false, true]));
        assert!(!all_ready(
            &[running, Done(End::Completed(1))],
            &[false, true]
        ));
        assert!(!all_ready(&[Running { ready: false }], &[false]));
    }

    #[test]
    fn exit_codes_are_clamped_to_a_byte() {
        assert_eq!(clamp_code(0), 0);
        assert_eq!(clamp_code(3), 3);
        assert_eq!(clamp_code(256), 1);
        assert_eq!(clamp_code(-1), 1);
    }
}
