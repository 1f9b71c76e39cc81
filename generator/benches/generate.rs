//! How fast `stackr generate` is, and where its time goes. Run: `cargo bench -p stackr --bench
//! generate`. Every figure is a median, printed with the machine's 1-minute load average, as wall
//! time and as CPU time: on a shared machine wall time mostly measures the other jobs, while CPU
//! time is close to what an idle machine shows as wall time.
//!
//! 1. **In process**: the whole pipeline as [`stackr::generate_in_memory`] runs it (parse the
//!    config, validate, plan, render every generated file; no I/O) for 1, 10, 100 and 1000
//!    services, after one warm-up call (the per-process template setup is shown in 3).
//! 2. **Breakdown** at 100 and 1000 services: the CPU time of each stage (parse, validate, plan,
//!    each generated file), rendered by the lite renderer (what `stackr` uses) and by tera alone
//!    (the reference the lite renderer matches byte for byte).
//! 3. **Per-process setup**: parsing every template for the lite renderer, and building a tera
//!    engine (only needed for templates outside the lite subset, i.e. scaffolding new services).
//! 4. **As a process**: `stackr generate --check` on an unchanged 100-service project, the
//!    binary started and waited for as a user or CI runs it (start-up, reading the config and
//!    the generated files, comparing), next to the in-process figure at 100.
//!
//! Targets, asserted after printing, on wall time when the load is below 1 and on CPU time
//! otherwise: 100 services ≤ 10 ms and 1000 ≤ 100 ms in process, the cost per service at 1000 at
//! most 2x the cost at 100, and `generate --check` on 100 services ≤ 15 ms as a process. The
//! linearity bound is not 1x because the plan, template contexts and output of 1000 services no
//! longer fit in the caches those of 100 fit in (`generate --check` peaks at 30 MB resident at
//! 1000 services, 8 MB at 100); anything quadratic would show as ~10x.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use stackr::render::{tera_only, GENERATED};

// Shared with the integration tests; a bench uses only part of it.
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/common/stack_of.rs"]
mod stack_of;
use stack_of::config_with;

/// The 1-minute load average, to read every wall-clock figure against.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// Median wall time and median CPU time of `runs` runs of `f`; `cpu` reads the CPU clock that
/// covers `f` (this process's, or its children's).
fn median<T>(runs: usize, cpu: fn() -> Duration, mut f: impl FnMut() -> T) -> Sample {
    let (mut walls, mut cpus): (Vec<Duration>, Vec<Duration>) = (0..runs)
        .map(|_| {
            let (start, cpu_start) = (Instant::now(), cpu());
            std::hint::black_box(f());
            (start.elapsed(), cpu() - cpu_start)
        })
        .unzip();
    walls.sort();
    cpus.sort();
    Sample {
        wall: walls[runs / 2],
        cpu: cpus[runs / 2],
    }
}

#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

/// CPU time of this (single-threaded) process.
fn own_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// User plus system CPU time of the children this process has waited for.
fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given; all-zero is a valid rusage.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Part 1: the in-process pipeline per size; returns (services, sample).
fn in_process() -> Vec<(usize, Sample)> {
    println!("1. in process: generate_in_memory (parse, validate, plan, render; no I/O), medians");
    println!(
        "{:>9} {:>12} {:>12} {:>14} {:>10} {:>6}",
        "services", "wall", "cpu", "cpu/service", "output", "load"
    );
    let mut rows = Vec::new();
    for (count, runs) in [(1, 51), (10, 31), (100, 21), (1000, 7)] {
        let text = config_with(count);
        let sample = median(runs, own_cpu, || stackr::generate_in_memory(&text).unwrap());
        let bytes: usize = stackr::generate_in_memory(&text)
            .unwrap()
            .iter()
            .map(|f| f.content.len())
            .sum();
        println!(
            "{count:>9} {:>12} {:>12} {:>11.1} µs {:>6} KiB {:>6}",
            ms(sample.wall),
            ms(sample.cpu),
            sample.cpu.as_secs_f64() * 1e6 / count as f64,
            bytes / 1024,
            load()
        );
        rows.push((count, sample));
    }
    rows
}

/// Part 2: each stage's median CPU time at `count` services, lite renderer and tera side by side.
fn breakdown(count: usize, runs: usize) {
    let text = config_with(count);
    let file = Path::new(stackr::config::CONFIG_FILE);
    let config = stackr::config::parse_config(file, &text).unwrap();
    let model = stackr::model::validate(&config, file, &text).unwrap();
    let plan = stackr::plan::plan(&model);
    println!(
        "2. breakdown at {count} services, median CPU time of {runs} runs, load {}",
        load()
    );
    println!("{:<24} {:>12} {:>12}", "stage", "lite", "tera only");
    let mut total = Duration::ZERO;
    let mut total_tera = Duration::ZERO;
    let mut row = |stage: &str, lite: Duration, tera: Duration| {
        total += lite;
        total_tera += tera;
        println!("{stage:<24} {:>12} {:>12}", ms(lite), ms(tera));
    };
    let cpu = |f: &mut dyn FnMut()| median(runs, own_cpu, f).cpu;
    let parse = cpu(&mut || drop(stackr::config::parse_config(file, &text).unwrap()));
    row("parse config", parse, parse);
    let validate = cpu(&mut || drop(stackr::model::validate(&config, file, &text).unwrap()));
    row("validate", validate, validate);
    let planning = cpu(&mut || drop(stackr::plan::plan(&model)));
    row("plan", planning, planning);
    for artifact in GENERATED {
        let lite = cpu(&mut || drop((artifact.render)(&plan).unwrap()));
        let tera = cpu(&mut || drop(tera_only(|| (artifact.render)(&plan).unwrap())));
        row(artifact.path, lite, tera);
    }
    println!("{:<24} {:>12} {:>12}", "sum", ms(total), ms(total_tera));
}

/// Part 3: what a process pays once before its first render.
fn setup() {
    let mut outside = Vec::new();
    let lite = median(11, own_cpu, || {
        outside = stackr::render::parse_lite()
            .into_iter()
            .filter_map(|(name, parsed)| parsed.err().map(|why| format!("{name} ({why})")))
            .collect();
    });
    let tera = median(5, own_cpu, stackr::render::build_tera);
    println!("3. per-process setup (median CPU time), load {}", load());
    println!("   lite renderer parses every template: {}", ms(lite.cpu));
    println!("   a tera engine (parses every template): {}", ms(tera.cpu));
    println!(
        "   templates rendered by tera because they are outside the lite subset: {}",
        if outside.is_empty() {
            "none".to_owned()
        } else {
            outside.join("; ")
        }
    );
}

/// Part 4: `stackr generate --check` on an unchanged `count`-service project, as a process.
fn check_as_process(count: usize, runs: usize) -> Sample {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("stackr.config.json"),
        config_with(count),
    )
    .unwrap();
    let stackr = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_stackr"))
            .arg("-C")
            .arg(project.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "stackr {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    stackr(&["generate"]);
    median(runs, children_cpu, || stackr(&["generate", "--check"]))
}

fn main() {
    // `cargo test --benches` runs this unoptimized: smoke-test the pipeline, skip the timings.
    if cfg!(debug_assertions) {
        for count in [1, 10] {
            assert!(!stackr::generate_in_memory(&config_with(count))
                .unwrap()
                .is_empty());
        }
        println!(
            "unoptimized build: timings skipped (run `cargo bench -p stackr --bench generate`)"
        );
        return;
    }
    println!("load average (1 min) at start: {}", load());
    setup();
    let _warm = stackr::generate_in_memory(&config_with(10));
    let rows = in_process();
    let at = |n: usize| rows.iter().find(|(c, _)| *c == n).unwrap().1;
    let (hundred, thousand) = (at(100), at(1000));
    breakdown(100, 21);
    breakdown(1000, 5);
    let process = check_as_process(100, 21);
    println!(
        "4. `stackr generate --check`, unchanged 100-service project, as a process: wall {}, cpu {} (load {}); in process, generate at 100: wall {}, cpu {}",
        ms(process.wall),
        ms(process.cpu),
        load(),
        ms(hundred.wall),
        ms(hundred.cpu)
    );
    // The targets are for an idle machine. Under load, wall time mostly measures the other
    // jobs; CPU time is what an idle machine would show as wall time.
    let idle = load().parse::<f64>().is_ok_and(|l| l < 1.0);
    let judged = |s: Sample| if idle { s.wall } else { s.cpu };
    println!(
        "targets judged on {}",
        if idle {
            "wall time (load < 1)".to_owned()
        } else {
            format!(
                "CPU time (load {} ≥ 1: wall time would measure the other jobs)",
                load()
            )
        }
    );
    let growth = judged(thousand).as_secs_f64() / (judged(hundred).as_secs_f64() * 10.0);
    println!("per-service cost at 1000 vs 100: {growth:.2}x (linear = 1.0)");
    let targets = [
        (
            "100 services in process ≤ 10 ms",
            judged(hundred) <= Duration::from_millis(10),
        ),
        (
            "1000 services in process ≤ 100 ms",
            judged(thousand) <= Duration::from_millis(100),
        ),
        (
            "linear: per-service cost at 1000 ≤ 2x the cost at 100",
            growth <= 2.0,
        ),
        (
            "`generate --check` at 100 as a process ≤ 15 ms",
            judged(process) <= Duration::from_millis(15),
        ),
    ];
    for (target, met) in targets {
        println!("target {target}: {}", if met { "met" } else { "MISSED" });
    }
    let missed: Vec<&str> = targets
        .iter()
        .filter(|(_, met)| !met)
        .map(|(t, _)| *t)
        .collect();
    assert!(missed.is_empty(), "missed at load {}: {missed:?}", load());
}
