//! What a dev stack costs on one machine as it grows: `stackr dev` (the embedded supervisor,
//! real PostgreSQL and Redis) on stacks of 1, 5, 10 and 25 base services plus auth, next to the
//! anchor a developer would otherwise run, one stock PostgreSQL and one stock Redis per service.
//!
//! Run: `cargo bench -p stackr --bench dev_stack` (every size), or with sizes after `--`:
//! `cargo bench -p stackr --bench dev_stack -- 1 5`.
//!
//! The project is made once with `stackr init` and grown with `stackr add service` from one size
//! to the next; which binaries run, and why, is in `project.rs`.
//!
//! For each size:
//! - cold start: from launching `stackr dev` to its "all N processes ready" line, with an empty
//!   state folder (secrets created, one initdb per service);
//! - warm start: the same with the state folder of the previous start (median of the runs);
//! - once idle (settled for a while after all ready): resident memory of each kind of process,
//!   PostgreSQL as the sum of its processes, per base service and in total (RSS with the part
//!   of it mapped from files, the programs' code and libraries, and PSS, which splits shared
//!   pages between the processes mapping them), the CPU the whole stack (probes
//!   included) uses over one period of the supervisor's probes of ready processes (60 s), and
//!   the TCP ports it listens on;
//! - the anchor, measured the same way in the same run;
//! - once per run, the floor: one PostgreSQL and one Redis with the least either can idle at
//!   (`anchor::Settings::Least`), measured the same way: no configuration of the stores of a
//!   base service uses less memory.
//!
//! Targets (2-core machine): 25 services warm start ≤ 10 s; ≤ 60 MB RSS per base service
//! including its PostgreSQL and Redis, once idle; idle CPU of the 25-service stack ≤ 5% of one
//! core. The memory target is checked at every size, the others at 25.

// Shared with the integration tests; a bench uses only part of it.
#[allow(dead_code, unused_imports)]
#[path = "../../tests/it/common/mod.rs"]
mod common;

mod anchor;
mod dev_run;
mod procfs;
mod project;
mod report;
mod usage;

use std::collections::BTreeMap;
use std::time::Duration;

use dev_run::DevRun;
use project::Project;
use report::{Figures, Verdicts};
use usage::Owners;

const SIZES: [usize; 4] = [1, 5, 10, 25];
const WARM_RUNS: usize = 3;
/// How long stock servers run after they answer before they count as idle.
const SETTLE: Duration = Duration::from_secs(10);
/// How long a stack runs after "all ready" before it counts as idle: past the time the APIs' and
/// workers' pools keep a connection nobody uses (each one a PostgreSQL server process), and before
/// the supervisor's next `/health` probe, which opens one again.
const STACK_SETTLE: Duration = Duration::from_secs(
    stackr_contract::DB_POOL_IDLE_LIMIT.as_secs()
        + stackr_contract::DB_POOL_IDLE_CHECK.as_secs()
        + 2,
);
const _: () = assert!(STACK_SETTLE.as_secs() < stackr_supervisor::READY_PERIOD.as_secs());
/// Once ready, every process's probe runs once per this period, all of them in step after a
/// warm start: a shorter window would catch every probe or none, depending on where it falls.
const CPU_WINDOW: Duration = stackr_supervisor::READY_PERIOD;

fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .filter(|&n| n > 0)
        .collect();
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and test discovery
    }
    if sizes.is_empty() {
        sizes = SIZES.to_vec();
    }
    sizes.sort_unstable();
    sizes.dedup();

    println!(
        "dev stack cost by size: `stackr dev` (embedded supervisor) vs the anchor (stock \
         PostgreSQL + Redis per service); {} cores, load average at start {}",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        report::load()
    );
    let mut project = Project::new();
    let template = anchor::Template::new();
    let floor = measure_floor(&template);
    let mut verdicts = Verdicts::new(floor);
    for &size in &sizes {
        let measured = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            measure_size(&mut project, &template, size)
        }));
        match measured {
            Ok(figures) => {
                figures.print(&floor);
                verdicts.add(&figures);
            }
            Err(_) => {
                println!(
                    "{size} base services: NOT MEASURED (the panic above says why); larger sizes \
                     are skipped"
                );
                verdicts.not_measured(size);
                break;
            }
        }
    }
    let all_met = verdicts.print();
    // Exiting skips destructors: delete the anchor's clusters and the project first.
    drop(template);
    project.remove();
    if !all_met {
        std::process::exit(1);
    }
}

/// RSS and PSS of one PostgreSQL and one Redis at their least, once idle.
fn measure_floor(template: &anchor::Template) -> usage::Memory {
    let servers = anchor::Anchor::start(template, 1, anchor::Settings::Least);
    std::thread::sleep(SETTLE);
    let usage = usage::measure(&servers.pids(), None, &Owners::default(), Duration::ZERO);
    servers.stop();
    let floor = usage.total();
    println!(
        "floor: one PostgreSQL and one Redis at their least (every optional process and buffer off), idle: RSS {:.1} MB ({:.1} from files) in {} processes, PSS {:.1} MB",
        floor.rss as f64 / 1e6,
        floor.rss_files as f64 / 1e6,
        floor.processes,
        floor.pss as f64 / 1e6
    );
    floor
}

fn measure_size(project: &mut Project, template: &anchor::Template, size: usize) -> Figures {
    eprintln!("{size} base services:");
    project.grow_to(size);
    project.link_binaries();
    let owners = Owners {
        by_port: project
            .server_ports()
            .into_iter()
            .flat_map(|(name, pg, redis)| [(pg, name.clone()), (redis, name)])
            .collect(),
    };

    project.wipe_state();
    let load_cold = report::load();
    let cold = start(project);
    cold.0.stop();

    let load_warm = report::load();
    let mut warm = Vec::new();
    let mut stack_usage = None;
    for run in 0..WARM_RUNS {
        let (dev, took) = start(project);
        warm.push(took);
        if run == 0 {
            std::thread::sleep(STACK_SETTLE);
            stack_usage = Some(usage::measure(
                &[dev.pid()],
                Some(dev.pid()),
                &owners,
                CPU_WINDOW,
            ));
        }
        dev.stop();
    }

    let servers = project.server_ports();
    let anchor = anchor::Anchor::start(template, servers.len(), anchor::Settings::Stock);
    std::thread::sleep(SETTLE);
    let anchor_owners = Owners {
        by_port: anchor
            .ports
            .iter()
            .flat_map(|&(i, pg, redis)| [(pg, servers[i].0.clone()), (redis, servers[i].0.clone())])
            .collect::<BTreeMap<_, _>>(),
    };
    let anchor_usage = usage::measure(&anchor.pids(), None, &anchor_owners, CPU_WINDOW);
    anchor.stop();

    Figures {
        size,
        services: project.services.clone(),
        cold: cold.1,
        warm,
        load_cold,
        load_warm,
        stack: stack_usage.expect("measured on the first warm start"),
        anchor: anchor_usage,
        load_end: report::load(),
    }
}

/// Launches `stackr dev` and waits for all ready: the run and its wall time from launch.
fn start(project: &Project) -> (DevRun, Duration) {
    let path = std::env::join_paths(std::iter::once(project.no_build_dir()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    // The stack's `${CARGO_TARGET_DIR:-target}/debug/…` commands find the binaries prepared
    // before timing, and its `build` runs the no-op `cargo`.
    let env = [
        (
            "CARGO_TARGET_DIR",
            project.bin_target_dir().into_os_string(),
        ),
        ("PATH", path),
    ];
    let mut dev = DevRun::start(&project.root, &env);
    match dev.wait_ready() {
        Ok((took, line)) => {
            eprintln!("  {line} (wall {:.2}s)", took.as_secs_f64());
            (dev, took)
        }
        Err(why) => {
            dev.stop();
            panic!("stackr dev: {why}");
        }
    }
}
