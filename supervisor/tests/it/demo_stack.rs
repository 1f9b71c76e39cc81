//! `stackr dev`'s engine on the repo's own generated demo stack (auth, core, wallet: each with its
//! own PostgreSQL, Redis, API and worker): every process becomes ready, every API answers
//! `/health`, SIGINT (Ctrl-C) stops everything with no process or port left behind, and a second
//! start reuses the databases and dev secrets instead of recreating them.
//!
//! Runs in a mirror of the project root (see `common::demo_stack`), so a developer's `.stackr/`
//! is never touched.

use crate::common;

use std::path::Path;
use std::time::SystemTime;

use common::demo_stack::{forget_cargo_run_env, DemoProject};

/// What must survive a restart: the PostgreSQL cluster (initdb ran once) and the dev secrets.
fn persisted_state(state: &Path) -> (SystemTime, Vec<(String, Vec<u8>)>) {
    let cluster = std::fs::metadata(state.join("data/auth/postgres/PG_VERSION"))
        .and_then(|m| m.modified())
        .expect("auth's PostgreSQL cluster exists after a start");
    let mut secrets: Vec<(String, Vec<u8>)> = std::fs::read_dir(state.join("secrets"))
        .expect("dev secrets exist after a start")
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    secrets.sort();
    (cluster, secrets)
}

#[test]
fn demo_stack_starts_answers_stops_cleanly_and_keeps_its_data() {
    forget_cargo_run_env();
    let demo = DemoProject::new();
    demo.wipe_state();
    let state = demo.dir.path().join(".stackr");

    // Cold start: every check (all ready, /health 200 on every API, clean SIGINT stop, no
    // leftover process or port) is asserted inside start_until_ready.
    let run = demo.start_until_ready();
    let all_ready = format!("all {} processes ready", demo.process_count);
    assert!(
        run.timeline
            .iter()
            .any(|(_, note)| note.contains(&all_ready)),
        "no `{all_ready}` among the supervisor's notes: {:#?}",
        run.timeline
    );
    assert_eq!(run.restarts, 0, "a process restarted during a clean start");
    let first = persisted_state(&state);
    assert!(
        first.1.iter().any(|(name, _)| name == "auth-secret"),
        "the secrets one-shot created auth's secret"
    );

    // Warm start on the same state folder.
    demo.start_until_ready();
    let second = persisted_state(&state);
    assert_eq!(
        first.0, second.0,
        "initdb ran again: the cluster was not reused"
    );
    assert_eq!(first.1, second.1, "dev secrets changed between starts");
}
