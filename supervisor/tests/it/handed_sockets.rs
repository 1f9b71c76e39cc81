//! A process handed its listening socket by the embedded supervisor (as `stackr dev` hands each
//! API its port) keeps that port through a crash and its restart: no other program can bind it
//! in between, nor on the other loopback address, and a request made meanwhile is answered by
//! the restarted process.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::two_services::http_get;
use crate::common::{unique_mark, wait_no_processes_with_mark, write_stack, Supervised};

fn stack(mark: &str, port: u16, restart: &str) -> String {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    format!(
        r#"version: "0.5"
environment:
  - STACKR_TEST_MARK={mark}
processes:
  api:
    command: "exec python3 {fixtures}/handed_socket_api.py"
    environment:
      - PORT={port}
    readiness_probe:
      http_get: {{ host: 127.0.0.1, port: {port}, path: / }}
      period_seconds: 1
      failure_threshold: 20
    availability: {{ restart: {restart}, backoff_seconds: 2, max_restarts: 5 }}
  # Keeps the stack running when the stand-in ends for good.
  keeper:
    command: "exec sleep 300"
"#,
        fixtures = fixtures.display()
    )
}

/// What the stand-in answers: its pid, and whether it served on the socket it was handed.
struct Answer {
    pid: i32,
    handed: bool,
}

impl Answer {
    fn parse(body: &str) -> Self {
        let (pid, how) = body.split_once(' ').expect("`<pid> handed|bound`");
        Answer {
            pid: pid.parse().expect("a pid"),
            handed: how == "handed",
        }
    }
}

#[test]
fn a_handed_socket_keeps_the_port_through_a_crash_and_the_restart_serves_what_waited() {
    let mark = unique_mark("handed-socket");
    let port = stackr_testkit::free_port();
    let (_dir, sup) = started(&mark, &format!("127.0.0.1:{port}"), port, "on_failure");

    let (code, first) = http_get(port, "/");
    assert_eq!(code, 200, "{first}");
    let first = Answer::parse(&first);

    // `localhost` is ::1 as well, which many clients (Node, Python) try first: no other program
    // may listen there, and calls there are refused so that clients go on to 127.0.0.1.
    assert!(
        TcpListener::bind(("::1", port)).is_err(),
        "another program took [::1]:{port}"
    );
    let refused = std::net::TcpStream::connect(("::1", port)).expect_err("refused");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

    // SAFETY: kill(2) on the pid the stand-in answered with, a process of this test's stack.
    unsafe { libc::kill(first.pid, libc::SIGKILL) };
    // Gone, and reaped by the supervisor: a call it had accepted would be reset.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{}", first.pid)).exists() {
        assert!(
            Instant::now() < deadline,
            "the killed process was never reaped"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The restart waits 2 s: the port must stay the stack's all along.
    let waiting = std::thread::spawn(move || http_get(port, "/"));
    let gap_ends = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < gap_ends {
        assert!(
            TcpListener::bind(("127.0.0.1", port)).is_err(),
            "another program bound port {port} while the process was down"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let (code, second) = waiting.join().unwrap();
    assert_eq!(code, 200, "{second}");
    let second = Answer::parse(&second);
    assert_ne!(
        second.pid, first.pid,
        "the request made during the gap is served by the restart"
    );
    for answer in [&first, &second] {
        assert!(
            answer.handed,
            "each start is handed the socket with LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES"
        );
    }

    stop(sup, &mark, 0);
    assert!(
        TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "the port is let go once the stack stopped"
    );
}

/// Waits until process `pid` is gone from the process table.
fn wait_reaped(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "process {pid} was never reaped");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `GET /` at `address`, and all that comes back before the connection closes (within 2 s).
fn call(address: impl std::net::ToSocketAddrs) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut call = std::net::TcpStream::connect(address)?;
    call.set_read_timeout(Some(Duration::from_secs(2)))?;
    call.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut answer = String::new();
    call.read_to_string(&mut answer)?;
    Ok(answer)
}

/// Starts the stand-in as process `api` with its socket on `address`, until ready.
fn started(mark: &str, address: &str, port: u16, restart: &str) -> (tempfile::TempDir, Supervised) {
    let dir = tempfile::tempdir().unwrap();
    let file = write_stack(dir.path(), &stack(mark, port, restart));
    let sup = Supervised::start(&file, &[&format!("--socket=api:api:{address}")], &[]);
    sup.wait_for_line("all 2 processes ready", Duration::from_secs(60));
    (dir, sup)
}

/// Ctrl-C, and nothing left running; `code` is what the supervisor exits with.
fn stop(mut sup: Supervised, mark: &str, code: i32) {
    sup.signal(libc::SIGINT);
    assert_eq!(sup.wait(Duration::from_secs(30)), code);
    assert!(wait_no_processes_with_mark(mark, Duration::from_secs(30)).is_empty());
}

#[test]
fn a_socket_on_every_ipv4_address_is_held_as_the_runtime_binds_it_for_both_families() {
    let mark = unique_mark("handed-socket-every-address");
    let port = stackr_testkit::free_port();
    // 0.0.0.0 is bound as `[::]`, which takes IPv4 too, as a runtime binding it itself does:
    // IPv6 clients reach the process and no other program can take the port on IPv6.
    let (_dir, sup) = started(&mark, &format!("0.0.0.0:{port}"), port, "on_failure");
    for taken in ["::", "::1", "0.0.0.0", "127.0.0.1"] {
        assert!(
            TcpListener::bind((taken, port)).is_err(),
            "another program took {taken} port {port}"
        );
    }
    let answer = call(("::1", port)).expect("served on ::1");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    stop(sup, &mark, 0);
}

#[test]
fn the_socket_of_a_process_that_will_not_run_again_refuses_calls_at_once() {
    let mark = unique_mark("handed-socket-ended");
    let port = stackr_testkit::free_port();
    let (_dir, sup) = started(&mark, &format!("127.0.0.1:{port}"), port, "\"no\"");
    let (_, answer) = http_get(port, "/");
    let pid = Answer::parse(&answer).pid;
    // SAFETY: kill(2) on the pid the stand-in answered with, a process of this test's stack.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    wait_reaped(pid);
    sup.wait_for_line("api: failed", Duration::from_secs(10));
    // Not kept waiting for an answer that will never come, as with no process on the port.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match call(("127.0.0.1", port)) {
            Ok(_) => break,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                panic!("the port was let go: {e}")
            }
            Err(e) => assert!(
                Instant::now() < deadline,
                "a call to the port of a process that ended waits: {e}"
            ),
        }
    }
    assert!(
        TcpListener::bind(("127.0.0.1", port)).is_err(),
        "the port stays the stack's"
    );
    // A process of the stack failed: the stack's run says so.
    stop(sup, &mark, 1);
}

#[test]
fn an_address_that_cannot_be_listened_on_stops_the_start_before_a_reset_deletes_anything() {
    let mark = unique_mark("handed-socket-bad-address");
    let port = stackr_testkit::free_port();
    let (dir, sup) = started(&mark, &format!("127.0.0.1:{port}"), port, "on_failure");
    stop(sup, &mark, 0);
    let data = dir.path().join(".stackr/data-of-the-stack");
    std::fs::write(&data, "kept").unwrap();

    // An address of no interface of this machine (TEST-NET-1), as a mistyped `adminBind` is.
    let file = dir.path().join("process-compose.yaml");
    let mut sup = Supervised::start(
        &file,
        &[
            "--reset",
            "--yes",
            &format!("--socket=api:api:192.0.2.1:{port}"),
        ],
        &[],
    );
    assert_eq!(sup.wait(Duration::from_secs(30)), 1);
    let error = sup.stderr();
    assert!(
        error.contains("192.0.2.1") && error.contains("is that an address of this machine?"),
        "{error}"
    );
    assert!(!error.contains("in use by"), "{error}");
    assert!(
        data.exists(),
        "--reset deleted the state before the start was refused"
    );
}
