//! Requests per second of an authenticated call (`GET /me` with a session cookie, which the
//! service checks at auth over HTTPS) through core's load balancer (nginx on core's API host),
//! with 1 and then 2 API replicas behind it, on the several-host container topology of the
//! `fleet_under_systemd` check (`stackr_checks::fleet`). The load runs inside core's host
//! (`stackr-checks-load`), rounds alternate 1 and 2 replicas so that load from elsewhere hits
//! both alike, and every figure is printed with the load average.
//!
//! Anchor: 1 replica. Target: 2 replicas answer 2x. Every container shares this machine's cores:
//! the replicas, nginx, auth and its database, the load generator. On a 2-core machine the ratio
//! is bounded by the machine, not by the load balancer, and the output says so.
//!
//! `cargo bench -p stackr-checks --bench load_balancer --profile dev` (the dev profile reuses the
//! workspace's debug binaries that the checks mount; without it the release build comes first).

use std::time::Duration;

use stackr_checks::fleet::client::quoted;
use stackr_checks::fleet::Fleet;
use stackr_checks::secret::random_secret;
use stackr_checks::systemd::build_workspace_binaries;
use stackr_checks::systemd::store::WORKSPACE_PACKAGE;

/// The bench's network: not the check's, so both can run at once.
const SUBNET: &str = "10.231.48";
const SERVICE: &str = "core";
const SECONDS: f64 = 10.0;
const CONCURRENCY: usize = 16;
const ROUNDS: usize = 2;

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".into(),
        |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// One timed run through the load balancer: answered requests per second.
fn measure(fleet: &Fleet, cookie: &str) -> f64 {
    let host = fleet.host_of(SERVICE, "api");
    let url = format!("http://127.0.0.1:{}/me", fleet.port(SERVICE));
    let output = host
        .machine
        .run_with_input(
            &format!(
                "{WORKSPACE_PACKAGE}/bin/stackr-checks-load {} {SECONDS} {CONCURRENCY}",
                quoted(&url)
            ),
            cookie.as_bytes(),
        )
        .expect("running the load");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the load failed: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let field = |name: &str| -> f64 {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    assert_eq!(field("failed"), 0.0, "failed requests: {text}");
    field("ok") / field("seconds")
}

/// Stops or starts every replica but the first, and waits until the balancer's replicas answer.
fn set_replicas(fleet: &Fleet, replicas: usize) {
    let host = fleet.host_of(SERVICE, "api");
    let ports = host.system["stackr"]["fleet"]["services"][SERVICE]["api"]["ports"]
        .as_array()
        .expect("replica ports")
        .clone();
    for (i, port) in ports.iter().enumerate().skip(1) {
        let unit = format!("stackr-{SERVICE}-api-{}", i + 1);
        let action = if i < replicas { "start" } else { "stop" };
        host.sh(&format!("systemctl {action} {unit}.service"))
            .unwrap_or_else(|e| panic!("{e:#}"));
        if i < replicas {
            fleet
                .wait_for(
                    &format!("{unit} to answer"),
                    Duration::from_secs(120),
                    || {
                        host.sh(&format!("curl -sf http://127.0.0.1:{port}/health"))
                            .map(drop)
                            .map_err(|e| format!("{e:#}"))
                    },
                )
                .unwrap_or_else(|e| panic!("{e:#}"));
        }
    }
}

fn main() {
    build_workspace_binaries();
    let fleet = Fleet::boot(SUBNET).unwrap_or_else(|e| panic!("{e:#}"));
    fleet
        .start(Duration::from_secs(900))
        .unwrap_or_else(|e| panic!("{e:#}\n{}", fleet.diagnostics()));
    let from = fleet.host_of(SERVICE, "api").name.clone();
    let email = format!("bench-{}@example.com", random_secret(8).to_lowercase());
    let (cookie, _) = fleet
        .sign_up(&from, &email, &random_secret(24))
        .unwrap_or_else(|e| panic!("{e:#}"));

    println!(
        "load balancer bench: GET /me with a session through {SERVICE}'s nginx, {CONCURRENCY} \
         clients, {SECONDS} s per run, {ROUNDS} rounds; {} cores on this machine",
        cores()
    );
    let mut best = [0.0f64; 2];
    for round in 1..=ROUNDS {
        for replicas in [1, 2] {
            set_replicas(&fleet, replicas);
            let rate = measure(&fleet, &cookie);
            best[replicas - 1] = best[replicas - 1].max(rate);
            println!(
                "  round {round}, {replicas} replica(s): {rate:.0} requests/s  (load average {})",
                load()
            );
        }
    }
    let ratio = best[1] / best[0];
    println!(
        "1 replica (anchor): {:.0} requests/s; 2 replicas: {:.0} requests/s; ratio {ratio:.2}x, \
         target 2.00x: {}  (best of {ROUNDS} rounds; load average {})",
        best[0],
        best[1],
        if ratio >= 2.0 { "met" } else { "not met" },
        load()
    );
    println!(
        "  every host, replica, nginx, auth and the load generator share these {} cores: with \
         fewer cores than 2 replicas plus what serves them, the ratio is bounded by the machine, \
         not by the load balancer",
        cores()
    );
}
