//! Behaviour of the embedded supervisor on small process-compose files whose processes are
//! plain shell commands: they record what happened in files of a temp dir, and every process
//! carries a marker in its environment so leftovers can be found in /proc.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use stackr_supervisor::{
    load_file, Console, End, Launch, Outcome, ProcState, StopReason, Supervisor,
};

/// Runs `yaml` in-process; with `stop_when_ready`, stops the stack as soon as it is all ready.
fn run(dir: &Path, yaml: &str, stop_when_ready: bool) -> (Outcome, Vec<ProcState>) {
    let file = write_stack(dir, yaml);
    let stack = load_file(&file, dir).expect("fixture loads");
    assert!(stack.warnings.is_empty(), "{:?}", stack.warnings);
    let names = stack.processes.iter().map(|p| p.name.clone()).collect();
    let launch = Launch {
        shell: stack.shell.clone(),
        extra_path: vec![],
        env: vec![],
        sockets: Default::default(),
    };
    let supervisor = Supervisor::new(stack, launch, Console::plain(names));
    let handle = supervisor.stop_handle();
    let mut watcher = supervisor.watcher();
    let states = supervisor.watcher();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let outcome = rt.block_on(async move {
        let run = tokio::spawn(supervisor.run());
        if stop_when_ready && watcher.all_ready().await {
            handle.stop();
        }
        tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("the stack stops within 60 s")
            .unwrap()
    });
    (outcome, states.states())
}

fn header(mark: &str) -> String {
    format!("version: \"0.5\"\nenvironment:\n  - STACKR_TEST_MARK={mark}\nprocesses:\n")
}

/// A fresh temp dir for a stack and a unique marker for its processes.
fn marked_dir(test: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let mark = unique_mark(test);
    (dir, mark)
}

/// Writes `yaml` as the stack of `dir` and starts the supervisor binary on it, without flags
/// or extra environment.
fn start_stack(dir: &Path, yaml: &str) -> Supervised {
    let file = write_stack(dir, yaml);
    Supervised::start(&file, &[], &[])
}

/// Where `event` is in `events`; panics naming it when it is missing.
fn position_of(events: &[String], event: &str) -> usize {
    events
        .iter()
        .position(|x| x == event)
        .unwrap_or_else(|| panic!("{event} missing in {events:?}"))
}

fn assert_no_leftovers(mark: &str) {
    let left = wait_no_processes_with_mark(mark, Duration::from_secs(30));
    kill_marked(mark);
    assert!(left.is_empty(), "processes left running: {left:?}");
}

#[test]
fn dependencies_start_in_order_and_wait_for_health() {
    let (dir, mark) = marked_dir("order");
    let yaml = header(&mark)
        + r#"
  api:
    command: "echo api-start >> events; exec sleep 30"
    readiness_probe:
      exec: { command: "grep -q api-start events" }
    depends_on:
      db: { condition: process_healthy }
      migrate: { condition: process_completed_successfully }
  migrate:
    command: "echo migrate-start >> events; sleep 0.3; echo migrate-end >> events"
    depends_on:
      db: { condition: process_healthy }
  db:
    command: "echo db-start >> events; sleep 0.5; touch db.ready; echo db-ready >> events; exec sleep 30"
    readiness_probe:
      exec: { command: "test -f db.ready" }
      period_seconds: 10
      failure_threshold: 3
  cache:
    command: "echo cache-start >> events; exec sleep 30"
    depends_on:
      db: { condition: process_started }
"#;
    let (outcome, states) = run(dir.path(), &yaml, true);
    let events = read_lines(&dir.path().join("events"));
    let pos = |e: &str| position_of(&events, e);
    // (process_started only promises db was spawned, not that its first line ran: no order
    // between db-start and cache-start is asserted.)
    pos("cache-start");
    assert!(pos("db-ready") < pos("migrate-start"), "{events:?}");
    assert!(pos("migrate-end") < pos("api-start"), "{events:?}");
    assert_eq!(outcome.code, 0);
    assert_eq!(outcome.reason, Some(StopReason::Requested));
    let ready = outcome.all_ready_after.expect("was all ready");
    // db needs 0.5 s, then migrate 0.3 s: readiness must not be reported before that.
    assert!(ready >= Duration::from_millis(800), "{ready:?}");
    // The first probe (t = 0) fails; at a 10 s period the next would come at 10 s. Fast retries
    // until the first success report db ready soon after 0.5 s instead.
    assert!(
        ready < Duration::from_secs(8),
        "fast probe retries keep this short: {ready:?}"
    );
    assert!(
        states.iter().all(|s| matches!(s, ProcState::Done(_))),
        "{states:?}"
    );
    assert_no_leftovers(&mark);
}

/// Independent processes start together, not one after another's readiness: each of these two
/// only becomes ready once it has seen the other start, so started in turn neither would be.
#[test]
fn independent_processes_start_concurrently() {
    let (dir, mark) = marked_dir("concurrent");
    let rendezvous = |me: &str, other: &str| {
        format!(
            r#"
  {me}:
    command: "touch {me}.started; for i in $(seq 300); do [ -f {other}.started ] && {{ touch {me}.ready; exec sleep 30; }}; sleep 0.1; done; exit 1"
    readiness_probe:
      exec: {{ command: "test -f {me}.ready" }}
      period_seconds: 10
      failure_threshold: 6
"#
        )
    };
    let yaml = header(&mark) + &rendezvous("first", "second") + &rendezvous("second", "first");
    let (outcome, _) = run(dir.path(), &yaml, true);
    assert_eq!(outcome.reason, Some(StopReason::Requested), "{outcome:?}");
    assert!(outcome.all_ready_after.is_some(), "{outcome:?}");
    assert_no_leftovers(&mark);
}

/// Once ready, a probe that keeps passing runs far less often than its `period_seconds`: a dev
/// stack of 25 services probes 50 servers, and at one probe a second each that alone costs more
/// than a tenth of a core.
#[test]
fn a_ready_process_is_probed_rarely() {
    let (dir, mark) = marked_dir("rareprobe");
    let yaml = header(&mark)
        + r#"
  db:
    command: "exec sleep 60"
    readiness_probe:
      exec: { command: "echo probe >> probes" }
      period_seconds: 1
      failure_threshold: 3
"#;
    let file = write_stack(dir.path(), &yaml);
    let mut sup = Supervised::start(&file, &[], &[]);
    sup.wait_for_line("db: ready in", Duration::from_secs(60));
    let at_ready = read_lines(&dir.path().join("probes")).len();
    // Counting what does not happen needs a window: five periods of the file's rhythm.
    std::thread::sleep(Duration::from_secs(5));
    let after = read_lines(&dir.path().join("probes")).len() - at_ready;
    sup.signal(libc::SIGINT);
    assert_eq!(sup.wait(Duration::from_secs(30)), 0);
    assert!(after <= 1, "{after} probes in the 5 s after ready");
    assert_no_leftovers(&mark);
}

#[test]
fn failing_one_shot_stops_everything_with_non_zero_exit() {
    let (dir, mark) = marked_dir("oneshot");
    let yaml = header(&mark)
        + r#"
  db:
    command: "exec sleep 30"
  migrate:
    command: "echo migrating; exit 3"
    depends_on:
      db: { condition: process_started }
  api:
    command: "touch api-ran; exec sleep 30"
    depends_on:
      migrate: { condition: process_completed_successfully }
"#;
    let started = Instant::now();
    let (outcome, states) = run(dir.path(), &yaml, false);
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert!(
        matches!(&outcome.reason, Some(StopReason::DependencyFailed { name, why }) if name == "api" && why.contains("migrate exited with 3")),
        "{outcome:?}"
    );
    // Said as a developer reads it, not in the compose file's condition names.
    assert!(
        matches!(&outcome.reason, Some(StopReason::DependencyFailed { why, .. }) if why.ends_with("it must succeed first") && !why.contains("process_")),
        "{outcome:?}"
    );
    assert!(!dir.path().join("api-ran").exists(), "api must not start");
    let names = ["db", "migrate", "api"];
    for (name, state) in names.iter().zip(&states) {
        assert!(matches!(state, ProcState::Done(_)), "{name}: {state:?}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "db was stopped, not waited out"
    );
    assert_no_leftovers(&mark);
}

#[test]
fn exit_on_failure_stops_the_stack_with_the_process_exit_code() {
    let (dir, mark) = marked_dir("exitonfail");
    let yaml = header(&mark)
        + r#"
  server:
    command: "exec sleep 30"
  seed:
    command: "sleep 0.2; exit 4"
    availability: { restart: exit_on_failure }
"#;
    let (outcome, _) = run(dir.path(), &yaml, false);
    assert_eq!(outcome.code, 4);
    assert_eq!(
        outcome.reason,
        Some(StopReason::ProcessFailed {
            name: "seed".into(),
            code: 4
        })
    );
    assert_no_leftovers(&mark);
}

#[test]
fn on_failure_restarts_up_to_max_restarts_then_reports_failure() {
    let (dir, mark) = marked_dir("restart");
    let yaml = header(&mark)
        + r#"
  flaky:
    command: "echo run >> runs; exit 2"
    availability: { restart: on_failure, backoff_seconds: 1, max_restarts: 2 }
  ok:
    command: "echo run >> ok-runs"
    availability: { restart: on_failure, max_restarts: 5 }
"#;
    let started = Instant::now();
    let (outcome, states) = run(dir.path(), &yaml, false);
    assert_eq!(
        read_lines(&dir.path().join("runs")).len(),
        3,
        "1 run + 2 restarts"
    );
    assert_eq!(
        read_lines(&dir.path().join("ok-runs")).len(),
        1,
        "exit 0 is not a failure"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "two 1 s backoffs"
    );
    assert_eq!(
        states,
        [
            ProcState::Done(End::Completed(2)),
            ProcState::Done(End::Completed(0))
        ]
    );
    assert_eq!(outcome.code, 1, "a process failed on its own");
    assert_eq!(outcome.reason, None, "nothing stopped the stack; it ended");
}

/// A process that used up its restarts says so, and what to do: the rest of the stack runs on
/// without it, and nothing restarts it again.
#[test]
fn a_process_out_of_restarts_says_so_and_what_to_do() {
    let (dir, mark) = marked_dir("out-of-restarts");
    let yaml = header(&mark)
        + "  flaky:\n    command: \"exit 3\"\n    availability: { restart: on_failure, backoff_seconds: 1, max_restarts: 1 }\n  server:\n    command: \"exec sleep 300\"\n";
    let mut sup = start_stack(dir.path(), &yaml);
    let line = sup.wait_for_line("flaky: gave up after 1 restart", Duration::from_secs(60));
    assert!(line.contains("start `stackr dev` again"), "{line}");
    sup.signal(libc::SIGTERM);
    sup.wait(Duration::from_secs(60));
    assert_no_leftovers(&mark);
}

/// A process out of restarts that another one still waits on (a PostgreSQL its database set-up
/// needs healthy): the waiting one can never start, so the stack stops. The note must not tell
/// the developer the rest runs on, lines before it stops.
#[test]
fn a_process_out_of_restarts_that_others_wait_on_does_not_promise_the_stack_runs_on() {
    let (dir, mark) = marked_dir("out-of-restarts-awaited");
    let yaml = header(&mark)
        + "  flaky:\n    command: \"exit 3\"\n    availability: { restart: on_failure, backoff_seconds: 1, max_restarts: 1 }\n  setup:\n    command: \"true\"\n    depends_on:\n      flaky:\n        condition: process_completed_successfully\n";
    let mut sup = start_stack(dir.path(), &yaml);
    let line = sup.wait_for_line("flaky: gave up after 1 restart", Duration::from_secs(60));
    assert!(!line.contains("runs on without it"), "{line}");
    assert!(line.contains("start `stackr dev` again"), "{line}");
    assert_ne!(
        sup.wait(Duration::from_secs(60)),
        0,
        "the stack stops, failed"
    );
    assert_no_leftovers(&mark);
}

#[test]
fn always_restarts_even_after_success() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "processes:\n  tick:\n    command: \"echo run >> runs\"\n    availability: { restart: always, max_restarts: 1 }\n";
    let (outcome, _) = run(dir.path(), yaml, false);
    assert_eq!(read_lines(&dir.path().join("runs")).len(), 2);
    assert_eq!(outcome.code, 0);
}

#[test]
fn environment_working_dir_and_expansion() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    // Load-time expansion uses the caller's environment (HOME is always set in a test run).
    let home = std::env::var("HOME").unwrap();
    let yaml = r#"
environment:
  - GLOBAL=g
  - SHARED=global
processes:
  show:
    working_dir: sub
    environment:
      - SHARED=process
      - EQUALS=a=b
    command: "printf '%s\n' \"$$GLOBAL\" \"$$SHARED\" \"$$EQUALS\" \"$HOME\" \"$$PC_PROC_NAME\" \"$$(pwd)\" > ../env-out"
"#;
    let (outcome, _) = run(dir.path(), yaml, false);
    assert_eq!(outcome.code, 0);
    let out = read_lines(&dir.path().join("env-out"));
    let sub = dir.path().join("sub").canonicalize().unwrap();
    assert_eq!(
        out,
        [
            "g",
            "process",
            "a=b",
            home.as_str(),
            "show",
            sub.to_str().unwrap()
        ]
    );
}

#[test]
fn http_readiness_probe_gates_dependents() {
    let (dir, mark) = marked_dir("http");
    let port = stackr_testkit::free_port();
    let yaml = header(&mark)
        + &format!(
            r#"
  web:
    command: "sleep 0.3; exec python3 -m http.server {port} --bind 127.0.0.1"
    readiness_probe:
      http_get: {{ host: 127.0.0.1, port: {port}, path: / }}
      period_seconds: 1
      failure_threshold: 20
  client:
    command: "curl -fsS -o /dev/null http://127.0.0.1:{port}/ && echo ok > client-out || python3 -c 'import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:{port}/\"); open(\"client-out\",\"w\").write(\"ok\\n\")'"
    availability: {{ exit_on_end: true }}
    depends_on:
      web: {{ condition: process_healthy }}
"#
        );
    let (outcome, _) = run(dir.path(), &yaml, false);
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert_eq!(read_lines(&dir.path().join("client-out")), ["ok"]);
    assert_no_leftovers(&mark);
}

#[test]
fn failed_readiness_probe_means_dependents_never_start() {
    let (dir, mark) = marked_dir("probefail");
    let yaml = header(&mark)
        + r#"
  db:
    command: "exec sleep 30"
    readiness_probe:
      exec: { command: "exit 1" }
      period_seconds: 1
      failure_threshold: 2
  api:
    command: "touch api-ran; exec sleep 30"
    depends_on:
      db: { condition: process_healthy }
"#;
    let started = Instant::now();
    let (outcome, _) = run(dir.path(), &yaml, false);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "grace = period × failure_threshold"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(outcome.code, 1);
    assert!(
        matches!(outcome.reason, Some(StopReason::DependencyFailed { .. })),
        "{outcome:?}"
    );
    assert!(!dir.path().join("api-ran").exists());
    assert_no_leftovers(&mark);
}

#[test]
fn sigint_stops_everything_in_reverse_dependency_order_without_orphans() {
    let (dir, mark) = marked_dir("sigint");
    // `base` forks grandchildren, one of which ignores SIGTERM (it must be SIGKILLed with its
    // group after base's 1 s timeout even though base itself exited), `stubborn` ignores
    // SIGTERM itself, and every other process logs its own stop. Each is ready only once its
    // trap is installed, so the SIGINT cannot overtake a `trap`.
    let yaml = header(&mark)
        + r#"
  base:
    command: "trap 'echo base-stopped >> events; exit 0' TERM; sleep 300 & (trap '' TERM; exec sleep 301) & touch base.ready; wait"
    shutdown: { timeout_seconds: 1 }
    readiness_probe:
      exec: { command: "test -f base.ready" }
  middle:
    command: "trap 'echo middle-stopped >> events; exit 0' TERM; touch middle.trapped; while true; do sleep 0.05; done"
    readiness_probe:
      exec: { command: "test -f middle.trapped" }
    depends_on:
      base: { condition: process_healthy }
  stubborn:
    command: "trap '' TERM; sleep 300 & touch stubborn.trapped; while true; do sleep 0.05; done"
    readiness_probe:
      exec: { command: "test -f stubborn.trapped" }
    shutdown: { timeout_seconds: 1 }
    depends_on:
      middle: { condition: process_started }
  top:
    command: "trap 'echo top-stopped >> events; exit 0' TERM; touch top.trapped; while true; do sleep 0.05; done"
    readiness_probe:
      exec: { command: "test -f top.trapped" }
    depends_on:
      middle: { condition: process_started }
"#;
    let mut sup = start_stack(dir.path(), &yaml);
    sup.wait_for_line("all 4 processes ready", Duration::from_secs(60));
    assert!(
        processes_with_mark(&mark).len() >= 6,
        "the stack runs: {:?}",
        processes_with_mark(&mark)
    );
    sup.signal(libc::SIGINT);
    let code = sup.wait(Duration::from_secs(60));
    let left = wait_no_processes_with_mark(&mark, Duration::from_secs(30));
    kill_marked(&mark);
    assert!(left.is_empty(), "orphans after SIGINT: {left:?}");
    assert_eq!(code, 0, "a requested stop is a clean exit");
    let events = read_lines(&dir.path().join("events"));
    let pos = |e: &str| position_of(&events, e);
    assert!(pos("top-stopped") < pos("middle-stopped"), "{events:?}");
    assert!(pos("middle-stopped") < pos("base-stopped"), "{events:?}");
    sup.wait_for_line("stopping: received SIGINT", Duration::from_secs(60));
    sup.wait_for_line(
        "stubborn: did not stop within 1s of SIGTERM; killed",
        Duration::from_secs(60),
    );
    // Status lines of plain mode say how long readiness took.
    let base_ready = sup.wait_for_line("base: ready in", Duration::from_secs(60));
    assert!(base_ready.starts_with("stackr   | "), "{base_ready}");
}

#[test]
fn logs_are_prefixed_by_process_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut sup = start_stack(
        dir.path(),
        "processes:\n  alpha:\n    command: \"echo hello from alpha; echo oops >&2\"\n  b:\n    command: \"echo hi from b\"\n",
    );
    assert_eq!(sup.wait(Duration::from_secs(60)), 0);
    let lines = sup.lines();
    assert!(
        lines.contains(&"alpha  | hello from alpha".to_string()),
        "{lines:?}"
    );
    assert!(lines.contains(&"alpha  | oops".to_string()), "{lines:?}");
    assert!(
        lines.contains(&"b      | hi from b".to_string()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("stackr | alpha: completed in")),
        "{lines:?}"
    );
}

#[test]
fn sigterm_also_stops_the_stack() {
    let (dir, mark) = marked_dir("sigterm");
    let yaml = header(&mark) + "  s:\n    command: \"exec sleep 300\"\n";
    let mut sup = start_stack(dir.path(), &yaml);
    sup.wait_for_line("the 1 process is ready", Duration::from_secs(60));
    sup.signal(libc::SIGTERM);
    assert_eq!(sup.wait(Duration::from_secs(60)), 0);
    assert_no_leftovers(&mark);
}

/// A shutdown timeout too long to be added to the clock (a hand-edited "never kill it") means
/// waiting as long as the process takes: Ctrl-C stops the stack, without a panic.
#[test]
fn a_shutdown_timeout_beyond_the_clock_still_stops_the_stack() {
    let (dir, mark) = marked_dir("endless-shutdown");
    let yaml = header(&mark)
        + "  s:\n    command: \"exec sleep 300\"\n    shutdown:\n      timeout_seconds: 18446744073709551615\n";
    let mut sup = start_stack(dir.path(), &yaml);
    sup.wait_for_line("the 1 process is ready", Duration::from_secs(60));
    sup.signal(libc::SIGINT);
    assert_eq!(sup.wait(Duration::from_secs(60)), 0);
    let err = sup.stderr();
    assert!(!err.contains("panicked"), "{err}");
    assert_no_leftovers(&mark);
}

/// The stack's build step runs cargo: without it, the stack started its servers only to stop
/// them on the build's "cargo: command not found". It is checked up front like the servers, and
/// the hint says where cargo comes from.
#[test]
fn a_missing_cargo_is_reported_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let empty_path = tempfile::tempdir().unwrap();
    let file = write_stack(
        dir.path(),
        "processes:\n  build:\n    command: \"cargo build --workspace --bins\"\n",
    );
    let mut sup = Supervised::start(&file, &[], &[("PATH", empty_path.path().to_str().unwrap())]);
    assert_eq!(sup.wait(Duration::from_secs(60)), 1);
    let err = sup.stderr();
    assert!(
        err.contains("missing tools needed by this stack: cargo"),
        "{err}"
    );
    assert!(err.contains("rustup"), "{err}");
}

#[test]
fn missing_tools_are_reported_with_how_to_install_them() {
    let dir = tempfile::tempdir().unwrap();
    let empty_path = tempfile::tempdir().unwrap();
    let file = write_stack(
        dir.path(),
        "processes:\n  cache:\n    command: \"exec redis-server --port 0\"\n    readiness_probe:\n      exec: { command: \"redis-cli ping\" }\n",
    );
    let mut sup = Supervised::start(&file, &[], &[("PATH", empty_path.path().to_str().unwrap())]);
    assert_eq!(sup.wait(Duration::from_secs(60)), 1);
    let err = sup.stderr();
    assert!(
        err.contains("missing tools needed by this stack: redis-server, redis-cli"),
        "{err}"
    );
    assert!(
        err.contains("apt-get install -y postgresql redis-server"),
        "{err}"
    );
    assert!(err.contains("nix run .#dev"), "{err}");
}

#[test]
fn malformed_yaml_is_a_clear_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut sup = start_stack(
        dir.path(),
        "version: \"0.5\"\nprocesses:\n  a:\n    command: \"unterminated\n",
    );
    assert_eq!(sup.wait(Duration::from_secs(60)), 1);
    let err = sup.stderr();
    assert!(
        err.contains("process-compose.yaml:5:1: found unexpected end of stream"),
        "{err}"
    );
    assert!(
        err.contains("while scanning a quoted scalar at line 4 column 14"),
        "{err}"
    );
}

#[test]
fn unknown_fields_warn_but_the_stack_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut sup = start_stack(
        dir.path(),
        "processes:\n  a:\n    command: \"echo ran\"\n    colour: blue\n    liveness_probe: {}\n",
    );
    assert_eq!(sup.wait(Duration::from_secs(60)), 0);
    sup.wait_for_line(
        "warning: processes.a.colour is not a known process-compose field",
        Duration::from_secs(60),
    );
    sup.wait_for_line(
        "warning: processes.a.liveness_probe is a process-compose feature",
        Duration::from_secs(60),
    );
    sup.wait_for_line("a      | ran", Duration::from_secs(60));
}

#[test]
fn daemons_are_refused_with_an_explanation() {
    let dir = tempfile::tempdir().unwrap();
    let mut sup = start_stack(
        dir.path(),
        "processes:\n  pg:\n    command: \"pg_ctl start\"\n    is_daemon: true\n",
    );
    assert_eq!(sup.wait(Duration::from_secs(60)), 1);
    assert!(sup.stderr().contains("is_daemon"), "{}", sup.stderr());
}

#[test]
fn state_folder_persists_and_reset_needs_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_stack(
        dir.path(),
        "processes:\n  init:\n    command: \"test -f .stackr/data/marker && echo reused || { mkdir -p .stackr/data; echo fresh; touch .stackr/data/marker; }\"\n",
    );
    let mut first = Supervised::start(&file, &[], &[]);
    assert_eq!(first.wait(Duration::from_secs(60)), 0);
    first.wait_for_line("init   | fresh", Duration::from_secs(60));
    assert!(dir.path().join(".stackr/.gitignore").exists());

    let mut second = Supervised::start(&file, &[], &[]);
    assert_eq!(second.wait(Duration::from_secs(60)), 0);
    second.wait_for_line("init   | reused", Duration::from_secs(60));

    // No terminal to ask on and no --yes: refuse, delete nothing.
    let mut refused = Supervised::start(&file, &["--reset"], &[]);
    assert_eq!(refused.wait(Duration::from_secs(60)), 1);
    assert!(
        refused.stderr().contains("add --yes"),
        "{}",
        refused.stderr()
    );
    assert!(dir.path().join(".stackr/data/marker").exists());

    let mut reset = Supervised::start(&file, &["--reset", "--yes"], &[]);
    assert_eq!(reset.wait(Duration::from_secs(60)), 0);
    reset.wait_for_line("init   | fresh", Duration::from_secs(60));
}

#[test]
fn dev_hands_the_file_to_process_compose_when_it_is_on_path() {
    let dir = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let file = write_stack(
        dir.path(),
        "processes:\n  a:\n    command: \"touch embedded-ran\"\n",
    );
    let fake = bin.path().join("process-compose");
    let record = dir.path().join("pc-call");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$@\" > '{0}'\npwd >> '{0}'\nexit 3\n",
            record.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );

    let mut sup = Supervised::start(&file, &["--dev"], &[("PATH", &path)]);
    assert_eq!(
        sup.wait(Duration::from_secs(60)),
        3,
        "process-compose's exit code is passed on"
    );
    let call = read_lines(&record);
    let project = dir.path().canonicalize().unwrap();
    assert_eq!(
        call,
        [
            format!(
                "up --config {} --no-server --tui=false",
                project.join("process-compose.yaml").display()
            ),
            project.display().to_string(),
        ]
    );
    assert!(!dir.path().join("embedded-ran").exists());
    assert!(
        dir.path().join(".stackr").is_dir(),
        "the state folder is prepared either way"
    );

    // Without process-compose, the same call runs the embedded supervisor.
    let mut sup = Supervised::start(&file, &["--dev"], &[]);
    assert_eq!(sup.wait(Duration::from_secs(60)), 0);
    assert!(dir.path().join("embedded-ran").exists());
}

#[test]
fn a_killed_supervisor_does_not_leave_servers_running() {
    let (dir, mark) = marked_dir("sigkill");
    let yaml = header(&mark)
        + "  server:\n    command: \"exec sleep 300\"\n  other:\n    command: \"exec sleep 301\"\n";
    let mut sup = start_stack(dir.path(), &yaml);
    sup.wait_for_line("all 2 processes ready", Duration::from_secs(60));
    // "Ready" for a process without a probe means spawned: its shell may still be on its way
    // to `exec sleep` on a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(30);
    while processes_with_mark(&mark).len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(processes_with_mark(&mark).len(), 2);
    // SIGKILL: no ordered shutdown can run; the parent-death signal is the only safety net.
    sup.signal(libc::SIGKILL);
    assert_eq!(sup.wait(Duration::from_secs(60)), -1);
    assert_no_leftovers(&mark);
}

#[test]
fn a_killed_supervisor_stops_each_process_with_its_own_shutdown_signal() {
    let (dir, mark) = marked_dir("deathsignal");
    // Like PostgreSQL with a client connected: SIGTERM does not stop it, its shutdown signal
    // (SIGINT) does.
    let yaml = header(&mark)
        + r#"  server:
    command: "trap '' TERM; trap 'exit 0' INT; echo traps-set; while :; do sleep 1 & wait $!; done"
    shutdown:
      signal: 2
"#;
    let mut sup = start_stack(dir.path(), &yaml);
    sup.wait_for_line("traps-set", Duration::from_secs(60));
    sup.signal(libc::SIGKILL);
    assert_eq!(sup.wait(Duration::from_secs(60)), -1);
    assert_no_leftovers(&mark);
}

#[test]
fn debian_postgresql_binaries_off_path_are_found_and_put_on_path() {
    // Debian installs initdb/postgres under /usr/lib/postgresql/<major>/bin, not on PATH.
    if !Path::new("/usr/lib/postgresql").is_dir() {
        eprintln!("skipped: no /usr/lib/postgresql on this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = write_stack(
        dir.path(),
        "processes:\n  v:\n    command: \"initdb --version\"\n",
    );
    let mut sup = Supervised::start(&file, &[], &[("PATH", "/usr/bin:/bin")]);
    assert_eq!(sup.wait(Duration::from_secs(60)), 0, "{}", sup.stderr());
    sup.wait_for_line("v      | initdb (PostgreSQL)", Duration::from_secs(60));
}

#[test]
fn process_completed_accepts_a_failed_exit() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = r#"
processes:
  seed:
    command: "exit 5"
  report:
    command: "echo ran > report-ran"
    depends_on:
      seed: { condition: process_completed }
"#;
    let (outcome, states) = run(dir.path(), yaml, false);
    assert!(
        dir.path().join("report-ran").exists(),
        "process_completed does not care about the code"
    );
    assert_eq!(
        states,
        [
            ProcState::Done(End::Completed(5)),
            ProcState::Done(End::Completed(0))
        ]
    );
    assert_eq!(outcome.code, 1, "seed still failed on its own");
}

#[test]
fn a_failed_readiness_probe_restarts_the_process_under_on_failure() {
    let (dir, mark) = marked_dir("proberestart");
    // Becomes healthy only on its second run: the first run must be stopped by the probe and
    // restarted by the policy before `client` may start.
    let yaml = header(&mark)
        + r#"
  server:
    command: "echo run >> runs; [ $$(wc -l < runs) -ge 2 ] && touch healthy; exec sleep 30"
    readiness_probe:
      exec: { command: "test -f healthy" }
      period_seconds: 1
      failure_threshold: 1
    availability: { restart: on_failure, max_restarts: 3 }
  client:
    command: "touch client-ran; exec sleep 30"
    readiness_probe:
      exec: { command: "test -f client-ran" }
    depends_on:
      server: { condition: process_healthy }
"#;
    let (outcome, _) = run(dir.path(), &yaml, true);
    assert_eq!(read_lines(&dir.path().join("runs")).len(), 2);
    assert!(dir.path().join("client-ran").exists());
    assert_eq!(outcome.reason, Some(StopReason::Requested), "{outcome:?}");
    assert_eq!(outcome.code, 0);
    assert_no_leftovers(&mark);
}

#[test]
fn a_second_dev_on_the_same_project_is_refused_and_leaves_the_first_alone() {
    let (dir, mark) = marked_dir("second-dev");
    let yaml = header(&mark)
        + r#"
  api:
    command: "touch api.ready; exec sleep 60"
    readiness_probe:
      exec: { command: "test -f api.ready" }
"#;
    let mut first = start_stack(dir.path(), &yaml);
    first.wait_for_line("the 1 process is ready", Duration::from_secs(60));
    let file = dir.path().join("process-compose.yaml");
    for flags in [&[][..], &["--reset", "--yes"][..]] {
        let mut second = Supervised::start(&file, flags, &[]);
        let code = second.wait(Duration::from_secs(60));
        let message = second.stderr();
        assert_eq!(code, 1, "{flags:?}: {message}");
        assert!(
            message.contains("already running for this project")
                && message.contains(&format!("pid {}", first.pid())),
            "{flags:?}: names the running one: {message}"
        );
        assert!(
            dir.path().join(".stackr").is_dir(),
            "{flags:?}: the running stack's state survives"
        );
    }
    assert_eq!(
        processes_with_mark(&mark).len(),
        1,
        "only the first stack's process runs"
    );
    first.signal(libc::SIGINT);
    assert_eq!(first.wait(Duration::from_secs(60)), 0);
    assert_no_leftovers(&mark);
    // Once the first stopped, the project can be started again.
    let mut again = start_stack(dir.path(), &yaml);
    again.wait_for_line("the 1 process is ready", Duration::from_secs(60));
    again.signal(libc::SIGINT);
    assert_eq!(again.wait(Duration::from_secs(60)), 0);
    assert_no_leftovers(&mark);
}

#[test]
fn only_starts_the_named_processes_and_their_dependencies_then_prints_the_ready_banner() {
    let (dir, mark) = marked_dir("only");
    let yaml = header(&mark)
        + r#"
  db:
    command: "echo db >> events; exec sleep 30"
  other-db:
    command: "echo other-db >> events; exec sleep 30"
  api:
    command: "echo api >> events; exec sleep 30"
    depends_on:
      db: { condition: process_started }
  other-api:
    command: "echo other-api >> events; exec sleep 30"
    depends_on:
      other-db: { condition: process_started }
"#;
    let file = write_stack(dir.path(), &yaml);
    let mut stack = Supervised::start(
        &file,
        &[
            "--no-tools-check",
            "--only=api",
            "--ready-banner=open-the-api",
        ],
        &[],
    );
    stack.wait_for_line("open-the-api", Duration::from_secs(30));
    let ready = stack
        .line_index("all 2 processes ready")
        .expect("the all-ready line");
    assert!(
        stack.line_index("open-the-api").unwrap() > ready,
        "the banner comes under the all-ready line: {:?}",
        stack.lines()
    );
    // Ready means started (no probes here): wait for the first line of api and of db, which it
    // depends on, before stopping them (on a loaded machine a started process may not have
    // written yet).
    let events_file = dir.path().join("events");
    let deadline = Instant::now() + Duration::from_secs(30);
    let ran = |name: &str| read_lines(&events_file).contains(&name.to_owned());
    while !(ran("api") && ran("db")) {
        assert!(
            Instant::now() < deadline,
            "api or db never ran: {:?}",
            read_lines(&events_file)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    stack.signal(libc::SIGINT);
    assert_eq!(stack.wait(Duration::from_secs(30)), 0);
    let mut events = read_lines(&events_file);
    events.sort();
    assert_eq!(events, ["api", "db"], "only api and what it depends on ran");
    assert_no_leftovers(&mark);

    let mut refused = Supervised::start(&file, &["--no-tools-check", "--only=api,wallet"], &[]);
    assert_eq!(refused.wait(Duration::from_secs(30)), 1);
    assert!(
        refused
            .stderr()
            .contains("no process named wallet in this stack; its processes are: db, api, other-db, other-api"),
        "{}",
        refused.stderr()
    );
}
