//! A base service whose start-up fails (its database never answered, a variable is missing)
//! while systemd, or `stackr dev`'s supervisor, holds its API socket: the connections that
//! arrived meanwhile wait in that socket's queue, and the held socket outlives the process. Left
//! there, each waited until the client gave up (a load balancer's read timeout, a minute; a
//! browser, longer) and again through every failed restart. The failing process answers them
//! `503` before it exits, so a client learns at once and a load balancer tries another replica.
//!
//! The process runs this test binary again (test `child`), handed a listening socket as systemd
//! hands one: descriptor 3, `LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::process::Command;
use std::time::Duration;

use stackr_kit::runtime::ServiceSpec;
use stackr_kit::{Flavor, ServiceRuntime};

/// Set in the child's environment: the test it is.
const CHILD: &str = "STACKR_TEST_STARTUP_FAILURE_CHILD";

/// The service process: a client is waiting on its API socket when its start-up fails (no
/// `STACKR_QUEUE`); prints the first line the client was answered, or `NO ANSWER`.
#[test]
fn child() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let handed = TcpListener::bind("127.0.0.1:0").unwrap();
    assert_eq!(
        handed.as_raw_fd(),
        3,
        "systemd passes the socket as descriptor 3"
    );
    let address = handed.local_addr().unwrap();
    // Owned by the process from now on, as one systemd passed (systemd keeps its own copy).
    let _ = handed.into_raw_fd();
    std::env::set_var("LISTEN_PID", std::process::id().to_string());
    std::env::set_var("LISTEN_FDS", "1");
    std::env::set_var("LISTEN_FDNAMES", "api");
    std::env::set_var("PORT", address.port().to_string());

    let mut client = TcpStream::connect(address).unwrap();
    client
        .write_all(b"GET /health HTTP/1.1\r\nHost: core\r\n\r\n")
        .unwrap();

    let started = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(ServiceRuntime::from_env(ServiceSpec {
            flavor: Flavor::None,
            roles: &[],
            provisioning: false,
            migrations: &[],
        }));
    assert!(started.is_err(), "start-up without STACKR_QUEUE must fail");

    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = Vec::new();
    match client.read_to_end(&mut answer) {
        Ok(_) if !answer.is_empty() => {
            let text = String::from_utf8_lossy(&answer);
            println!("ANSWER {}", text.lines().next().unwrap_or_default());
            println!("BODY {}", text.split("\r\n\r\n").nth(1).unwrap_or_default());
        }
        outcome => println!("NO ANSWER {outcome:?}"),
    }
}

#[test]
fn a_service_that_cannot_start_answers_the_requests_waiting_on_its_socket() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "startup_failure::child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("STACKR_SERVICE", "core")
        .env("DATABASE_URL", "postgres://core@127.0.0.1:1/core")
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .env_remove("STACKR_QUEUE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("ANSWER HTTP/1.1 503 Service Unavailable"),
        "the waiting client was not told the service is unavailable:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(r#"BODY {"message":"Service unavailable","code":"SERVICE_UNAVAILABLE"}"#),
        "{stdout}"
    );
}
