//! How fast `stackr generate` is, and where its time goes. Run: `cargo bench -p stackr --bench
//! generate`. It prints, each figure with the machine's 1-minute load average (the machine may be
//! shared, so read wall-clock figures against it):
//!
//! 1. **In process**: the whole pipeline as [`stackr::generate_in_memory`] runs it (parse the
//!    config, validate, plan, render every generated file; no I/O), median wall time for 1, 10,
//!    100 and 1000 services, after one warm-up call (template setup is paid once per process and
//!    shown in 3).
//! 2. **Breakdown** at 100 and 1000 services: the median of each stage (parse, validate, plan,
//!    each generated file), rendered by the lite renderer (what `stackr` uses) and by tera alone
//!    (the reference the lite renderer matches byte for byte), so the cost of each is visible.
//! 3. **Per-process setup**: parsing every template for the lite renderer, and building a tera
//!    engine (only needed for templates outside the lite subset, i.e. scaffolding new services).
//! 4. **As a process**: `stackr generate --check` on an unchanged 100-service project, the
//!    binary run and waited for as a user or CI runs it (start-up, reading the config and the
//!    generated files included), next to the in-process figure.
//!
//! Targets (asserted after printing): 100 services ≤ 10 ms and 1000 ≤ 100 ms in process, the
//! cost per service at 1000 at most 1.5x the cost at 100 (linear), and `generate --check` on 100
//! services ≤ 15 ms as a process.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use stackr::render::{tera_only, GENERATED};

/// A stack of `count` services: auth plus `count - 1` base services cycling through the flavors.
fn config_with(count: usize) -> String {
    let flavors = ["standard", "role-gated", "flexible", "none"];
    let mut services = vec![r#"{ "name": "auth", "kind": "auth" }"#.to_owned()];
    for i in 1..count {
        let flavor = flavors[i % flavors.len()];
        let roles = if flavor == "role-gated" {
            r#", "roles": ["finance"]"#
        } else {
            ""
        };
        services.push(format!(
            r#"{{ "name": "svc{i}", "authMiddleware": "{flavor}"{roles} }}"#
        ));
    }
    format!(
        "{{ \"name\": \"bench\", \"services\": [\n{}\n] }}\n",
        services.join(",\n")
    )
}

/// The 1-minute load average, to read every wall-clock figure against.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// Median wall time of `f` over `runs` runs.
fn median<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Part 1: the in-process pipeline per size; returns (services, median).
fn in_process() -> Vec<(usize, Duration)> {
    println!("1. in process: generate_in_memory (parse, validate, plan, render; no I/O)");
    println!(
        "{:>9} {:>12} {:>14} {:>10} {:>6}",
        "services", "median", "per service", "output", "load"
    );
    let mut rows = Vec::new();
    for (count, runs) in [(1, 51), (10, 31), (100, 21), (1000, 7)] {
        let text = config_with(count);
        let elapsed = median(runs, || stackr::generate_in_memory(&text).unwrap());
        let bytes: usize = stackr::generate_in_memory(&text)
            .unwrap()
            .iter()
            .map(|f| f.content.len())
            .sum();
        println!(
            "{count:>9} {:>12} {:>11.1} µs {:>6} KiB {:>6}",
            ms(elapsed),
            elapsed.as_secs_f64() * 1e6 / count as f64,
            bytes / 1024,
            load()
        );
        rows.push((count, elapsed));
    }
    rows
}

/// Part 2: each stage's median at `count` services, lite renderer and tera side by side.
fn breakdown(count: usize, runs: usize) {
    let text = config_with(count);
    let file = Path::new(stackr::config::CONFIG_FILE);
    let config = stackr::config::parse_config(file, &text).unwrap();
    let model = stackr::model::validate(&config, file, &text).unwrap();
    let plan = stackr::plan::plan(&model);
    println!(
        "2. breakdown at {count} services (median of {runs}), load {}",
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
    let parse = median(runs, || stackr::config::parse_config(file, &text).unwrap());
    row("parse config", parse, parse);
    let validate = median(runs, || {
        stackr::model::validate(&config, file, &text).unwrap()
    });
    row("validate", validate, validate);
    let planning = median(runs, || stackr::plan::plan(&model));
    row("plan", planning, planning);
    for artifact in GENERATED {
        let lite = median(runs, || (artifact.render)(&plan).unwrap());
        let tera = median(runs, || tera_only(|| (artifact.render)(&plan).unwrap()));
        row(artifact.path, lite, tera);
    }
    println!("{:<24} {:>12} {:>12}", "sum", ms(total), ms(total_tera));
}

/// Part 3: what a process pays once before its first render.
fn setup() {
    let mut outside = Vec::new();
    let lite = median(11, || {
        outside = stackr::render::parse_lite()
            .into_iter()
            .filter_map(|(name, parsed)| parsed.err().map(|why| format!("{name} ({why})")))
            .collect();
    });
    let tera = median(5, stackr::render::build_tera);
    println!("3. per-process setup, load {}", load());
    println!("   lite renderer parses every template: {}", ms(lite));
    println!("   a tera engine (parses every template): {}", ms(tera));
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
fn check_as_process(count: usize, runs: usize) -> Duration {
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
    median(runs, || stackr(&["generate", "--check"]))
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
        "4. `stackr generate --check`, unchanged 100-service project, as a process: {} (load {}); in process, generate at 100: {}",
        ms(process),
        load(),
        ms(hundred)
    );
    let growth = thousand.as_secs_f64() / (hundred.as_secs_f64() * 10.0);
    println!("per-service cost at 1000 vs 100: {growth:.2}x (linear = 1.0)");
    let targets = [
        (
            "100 services in process ≤ 10 ms",
            hundred <= Duration::from_millis(10),
        ),
        (
            "1000 services in process ≤ 100 ms",
            thousand <= Duration::from_millis(100),
        ),
        (
            "linear: per-service cost at 1000 ≤ 1.5x the cost at 100",
            growth <= 1.5,
        ),
        (
            "`generate --check` at 100 as a process ≤ 15 ms",
            process <= Duration::from_millis(15),
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
