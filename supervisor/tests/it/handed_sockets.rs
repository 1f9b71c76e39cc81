//! A process handed its listening socket by the embedded supervisor (as `stackr dev` hands each
//! API its port) keeps that port through a crash and its restart: no other program can bind it
//! in between, nor on the other loopback address, and a request made meanwhile is answered by
//! the restarted process.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::two_services::http_get;
use crate::common::{unique_mark, wait_no_processes_with_mark, write_stack, Supervised};

fn stack(mark: &str, port: u16) -> String {
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
    availability: {{ restart: on_failure, backoff_seconds: 2, max_restarts: 5 }}
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
    let dir = tempfile::tempdir().unwrap();
    let mark = unique_mark("handed-socket");
    let port = stackr_testkit::free_port();
    let file = write_stack(dir.path(), &stack(&mark, port));
    let mut sup = Supervised::start(&file, &[&format!("--socket=api:api:127.0.0.1:{port}")], &[]);
    sup.wait_for_line("the 1 process is ready", Duration::from_secs(60));

    let (code, first) = http_get(port, "/");
    assert_eq!(code, 200, "{first}");
    let first = Answer::parse(&first);

    // `localhost` is ::1 as well, which many clients (Node, Python) try first: no other program
    // may listen there, and calls there are refused so that clients go on to 127.0.0.1.
    assert!(
        TcpListener::bind(("::1", port)).is_err(),
        "another program took [::1]:{port}"
    );
    let refused = std::net::TcpStream::connect(("::1", port))
        .err()
        .expect("refused");
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

    sup.signal(libc::SIGINT);
    assert_eq!(sup.wait(Duration::from_secs(30)), 0);
    assert!(wait_no_processes_with_mark(&mark, Duration::from_secs(30)).is_empty());
    assert!(
        TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "the port is let go once the stack stopped"
    );
}
