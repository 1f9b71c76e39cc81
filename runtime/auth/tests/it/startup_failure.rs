//! The auth binary, handed its API and admin sockets as systemd hands them (descriptors 3 and 4,
//! `LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`), answers the connections waiting on them when
//! its start-up fails: systemd keeps the sockets listening after the process exits, so a waiting
//! client was neither served nor refused until it gave up, through every failed restart.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

/// `stackr-auth` started on `handed` (descriptors 3, 4, … in order, named `names`) with
/// `env` only, as systemd starts it: `LISTEN_PID` is the process's own.
fn start_handed(handed: &[&TcpListener], names: &str, env: &[(&str, &str)]) -> bool {
    let fds: Vec<i32> = handed.iter().map(|l| l.as_raw_fd()).collect();
    let mut command = Command::new("sh");
    command
        .args(["-c", "LISTEN_PID=$$ exec \"$0\""])
        .arg(env!("CARGO_BIN_EXE_stackr-auth"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LISTEN_FDS", fds.len().to_string())
        .env("LISTEN_FDNAMES", names)
        .envs(env.iter().copied());
    // SAFETY: only fcntl and dup2, which are async-signal-safe, between fork and exec. Each
    // socket is first copied above any descriptor it could be placed at, so placing one never
    // overwrites another not placed yet; the placed copies are inherited (dup2 clears
    // close-on-exec, which a descriptor already at its place would keep).
    unsafe {
        command.pre_exec(move || {
            let mut high = [0; 8];
            for (i, fd) in fds.iter().enumerate() {
                high[i] = libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 100);
                if high[i] < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for (i, fd) in high.iter().take(fds.len()).enumerate() {
                if libc::dup2(*fd, 3 + i as i32) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    command.status().unwrap().success()
}

/// A client that connected and sent a request before the process started.
fn waiting_client(on: &TcpListener) -> TcpStream {
    let mut client = TcpStream::connect(on.local_addr().unwrap()).unwrap();
    client
        .write_all(b"GET /api/auth/ok HTTP/1.1\r\nHost: auth\r\n\r\n")
        .unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client
}

/// The first line the client was answered, or why there was none.
fn answer(mut client: TcpStream) -> String {
    let mut answer = Vec::new();
    match client.read_to_end(&mut answer) {
        Ok(_) => String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or("closed without an answer")
            .to_owned(),
        Err(e) => format!("no answer: {e}"),
    }
}

#[test]
fn auth_that_cannot_start_answers_the_clients_waiting_on_its_sockets() {
    let api = TcpListener::bind("127.0.0.1:0").unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").unwrap();
    let api_client = waiting_client(&api);
    let admin_client = waiting_client(&admin);

    // No AUTH_BASE_URL: the configuration is refused.
    let started = start_handed(&[&api, &admin], "api:admin", &[]);

    assert!(!started, "start-up without AUTH_BASE_URL must fail");
    assert_eq!(answer(api_client), "HTTP/1.1 503 Service Unavailable");
    assert_eq!(answer(admin_client), "HTTP/1.1 503 Service Unavailable");
}

/// An API that serves HTTPS gets no plain-text answer on its socket: the client's connection is
/// closed, which a TLS client (and a load balancer) takes as a failure at once.
#[test]
fn auth_serving_https_that_cannot_start_closes_the_waiting_connections() {
    let api = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = waiting_client(&api);

    let started = start_handed(
        &[&api],
        "api",
        &[("AUTH_TLS_CERT_FILE", "/nonexistent/cert.pem")],
    );

    assert!(!started);
    assert_eq!(answer(client), "closed without an answer");
}
