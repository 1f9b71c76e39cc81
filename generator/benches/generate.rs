//! Times the whole `stackr generate` pipeline in memory (parse, validate, plan, render every
//! artifact) for 1, 10, 100 and 1000 services and prints the figures. Fails if 100 services take
//! 100 ms or more, or if the cost per service at 1000 is more than 3x the cost at 100 (growth
//! must stay linear). Run: `cargo bench -p stackr --bench generate`.

use std::time::{Duration, Instant};

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

/// Median wall time of the pipeline over `runs` runs.
fn median_time(text: &str, runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let files = stackr::generate_in_memory(text).expect("bench config is valid");
            std::hint::black_box(files);
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    // `cargo test --benches` runs this unoptimized: smoke-test the pipeline, skip the budgets.
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
    let _warm = stackr::generate_in_memory(&config_with(10));
    println!(
        "{:>9} {:>12} {:>16} {:>12}",
        "services", "median", "per service", "output"
    );
    let mut per_service = Vec::new();
    for (count, runs) in [(1, 51), (10, 31), (100, 15), (1000, 5)] {
        let text = config_with(count);
        let elapsed = median_time(&text, runs);
        let bytes: usize = stackr::generate_in_memory(&text)
            .unwrap()
            .iter()
            .map(|f| f.content.len())
            .sum();
        let each = elapsed / count as u32;
        println!(
            "{count:>9} {:>10.3}ms {:>14.1}µs {:>10}KiB",
            elapsed.as_secs_f64() * 1e3,
            each.as_secs_f64() * 1e6,
            bytes / 1024
        );
        per_service.push((count, elapsed, each));
    }
    let at = |n: usize| {
        per_service
            .iter()
            .find(|(c, _, _)| *c == n)
            .copied()
            .unwrap()
    };
    let (_, hundred, hundred_each) = at(100);
    let (_, _, thousand_each) = at(1000);
    let growth = thousand_each.as_secs_f64() / hundred_each.as_secs_f64();
    println!("per-service cost at 1000 vs 100: {growth:.2}x (linear = 1.0)");
    assert!(
        hundred < Duration::from_millis(100),
        "100 services took {hundred:?}; the budget is 100 ms"
    );
    assert!(
        growth < 3.0,
        "cost grows faster than linearly: {growth:.2}x per service from 100 to 1000"
    );
}
