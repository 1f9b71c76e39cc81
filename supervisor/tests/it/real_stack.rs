//! The embedded supervisor on a two-service stack with real PostgreSQL and Redis servers, in the
//! shape `stackr generate` emits: everything becomes ready, the APIs answer /health, SIGINT
//! stops everything with nothing left in the process table, and a second start reuses the data.

use crate::common;

use std::time::{Duration, Instant};

use common::two_services::{Project, PROCESS_COUNT, SERVICES};
use common::*;

fn stop_and_check_no_orphans(project: &Project, mut sup: Supervised) {
    sup.signal(libc::SIGINT);
    let code = sup.wait(Duration::from_secs(60));
    let left = project.leftovers();
    assert!(left.is_empty(), "processes left after SIGINT: {left:?}");
    assert_eq!(code, 0, "a Ctrl-C stop is a clean exit");
    sup.wait_for_line("stopping: received SIGINT", Duration::from_secs(60));
}

#[test]
fn two_services_with_real_postgres_and_redis() {
    let project = Project::new("real");
    let all_ready = format!("all {PROCESS_COUNT} processes ready");

    // Cold start: empty state folder, initdb runs.
    let started = Instant::now();
    let sup = project.start();
    let line = sup.wait_for_line(&all_ready, Duration::from_secs(180));
    eprintln!(
        "cold start: {line} (wall {:.2}s)",
        started.elapsed().as_secs_f64()
    );
    for svc in SERVICES {
        let (code, body) = project.health(svc);
        assert_eq!(
            (code, body.as_str()),
            (200, r#"{"status":"ok"}"#),
            "{svc} /health"
        );
        // The service's own role reaches its own database with its own password.
        project
            .psql(svc, "CREATE TABLE IF NOT EXISTS kept (v text)")
            .unwrap();
        project
            .psql(svc, &format!("INSERT INTO kept VALUES ('{svc}-row')"))
            .unwrap();
        assert_eq!(
            project.redis(svc, &["SET", "kept", &format!("{svc}-value")]),
            "OK"
        );
    }
    // Isolation: core's role cannot connect to wallet's database.
    let port = project.port("WALLET_PG_PORT");
    let cross = std::process::Command::new(stackr_testkit::find_tool("psql"))
        .args([
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "core",
            "-d",
            "wallet",
            "-c",
            "select 1",
        ])
        .env("PGPASSWORD", project.secret("core-db-password"))
        .output()
        .unwrap();
    assert!(
        !cross.status.success(),
        "core must not reach wallet's database"
    );
    assert!(
        sup.line_index("reusing the cluster").is_none(),
        "the first start initialises"
    );
    stop_and_check_no_orphans(&project, sup);

    // Warm start: same state folder, the clusters and Redis data are reused.
    let started = Instant::now();
    let sup = project.start();
    let line = sup.wait_for_line(&all_ready, Duration::from_secs(60));
    eprintln!(
        "warm start: {line} (wall {:.2}s)",
        started.elapsed().as_secs_f64()
    );
    for svc in SERVICES {
        let line = sup.wait_for_line(
            &format!("reusing the cluster in .stackr/data/{svc}/"),
            Duration::from_secs(60),
        );
        assert!(
            line.starts_with(&format!("{svc}-db-init ")),
            "prefixed by its process: {line}"
        );
    }
    for svc in SERVICES {
        assert_eq!(project.health(svc).0, 200);
        assert_eq!(
            project.psql(svc, "SELECT v FROM kept").unwrap(),
            format!("{svc}-row")
        );
        assert_eq!(project.redis(svc, &["GET", "kept"]), format!("{svc}-value"));
    }
    stop_and_check_no_orphans(&project, sup);
}
