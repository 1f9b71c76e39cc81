//! `socket_activation::inherited_or_bound` in a process of its own, handed a listening socket as
//! systemd hands one: descriptor 3, `LISTEN_PID` (the process), `LISTEN_FDS`, `LISTEN_FDNAMES`.
//! A deploy can change a socket's settings without systemd rebinding it (NixOS's
//! switch-to-configuration leaves changed `.socket` units alone; after a daemon-reload systemd
//! keeps the old listening socket), so the process may be handed no socket of the name it asks
//! for, or one on another address than its configuration's: it then binds the configured address
//! itself, saying so, instead of exiting (which, with no start limit, would loop forever) or
//! serving an address it was not configured for.
//!
//! Each case runs this test binary again (test `child`) with the case in its environment.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::process::Command;

use stackr_contract::socket_activation::inherited_or_bound;

const CASE_NAMES: &str = "STACKR_TEST_LISTEN_FDNAMES";
const CASE_PASSED: &str = "STACKR_TEST_PASSED_ADDRESS";
const CASE_WANTED: &str = "STACKR_TEST_WANTED_NAME";
const CASE_CONFIGURED: &str = "STACKR_TEST_CONFIGURED_ADDRESS";

/// The process systemd would start: its descriptor 3 is a socket listening on `CASE_PASSED`,
/// named `CASE_NAMES`; it asks for `CASE_WANTED` configured at `CASE_CONFIGURED` and prints what
/// it got (`LISTENING <address> fd <n>` or `ERROR <why>`).
#[test]
fn child() {
    let Ok(names) = std::env::var(CASE_NAMES) else {
        return;
    };
    let passed = TcpListener::bind(std::env::var(CASE_PASSED).unwrap()).unwrap();
    assert_eq!(
        passed.as_raw_fd(),
        3,
        "the passed socket must be descriptor 3, as systemd passes it"
    );
    // Owned by the process from now on, as one systemd passed.
    let _ = passed.into_raw_fd();
    std::env::set_var("LISTEN_PID", std::process::id().to_string());
    std::env::set_var("LISTEN_FDS", "1");
    std::env::set_var("LISTEN_FDNAMES", names);
    let wanted = std::env::var(CASE_WANTED).unwrap();
    let configured: SocketAddr = std::env::var(CASE_CONFIGURED).unwrap().parse().unwrap();
    match inherited_or_bound(&wanted, configured) {
        Ok(listener) => println!(
            "LISTENING {} fd {}",
            listener.local_addr().unwrap(),
            listener.as_raw_fd()
        ),
        Err(why) => println!("ERROR {why}"),
    }
}

/// What the process handed a socket named `names` on `passed`, asking for `wanted` at
/// `configured`, printed (stdout) and said (stderr).
fn run(names: &str, passed: &str, wanted: &str, configured: SocketAddr) -> (String, String) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CASE_NAMES, names)
        .env(CASE_PASSED, passed)
        .env(CASE_WANTED, wanted)
        .env(CASE_CONFIGURED, configured.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // libtest prints `test child ... ` before the test's own output, on the same line.
    let line = stdout
        .lines()
        .find_map(|l| {
            ["LISTENING ", "ERROR "]
                .iter()
                .find_map(|m| l.find(m).map(|at| &l[at..]))
        })
        .unwrap_or_else(|| panic!("the child printed no outcome:\n{stdout}\n{stderr}"))
        .to_owned();
    (line, stderr)
}

/// A loopback address whose port nothing listens on now.
fn free_loopback() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn a_socket_on_the_configured_address_is_taken_from_systemd() {
    let configured = free_loopback();
    let (outcome, _) = run("api", &configured.to_string(), "api", configured);
    assert_eq!(outcome, format!("LISTENING {configured} fd 3"));
}

/// auth given an admin page (or a changed one) by a deploy: systemd still passes the old set of
/// sockets, without `admin`.
#[test]
fn no_socket_of_the_name_binds_the_configured_address_with_a_warning() {
    let configured = free_loopback();
    let (outcome, said) = run("api", "127.0.0.1:0", "admin", configured);
    assert_eq!(outcome, format!("LISTENING {configured} fd 4"));
    assert!(
        said.contains("admin") && said.contains(&configured.to_string()),
        "the process says what it did: {said}"
    );
}

/// A deploy changed the port (or address): systemd still passes the socket bound to the old one.
#[test]
fn a_socket_on_another_address_is_not_served_the_configured_one_is() {
    let configured = free_loopback();
    let passed = free_loopback();
    let (outcome, said) = run("api", &passed.to_string(), "api", configured);
    assert!(
        outcome.starts_with(&format!("LISTENING {configured} ")),
        "{outcome}"
    );
    assert!(
        said.contains(&passed.to_string()) && said.contains(&configured.to_string()),
        "the process names both addresses: {said}"
    );
}

/// "Every address" as systemd binds a bare port (`ListenStream=PORT`: `[::]`, dual-stack) is
/// the socket of an API configured for every address (`0.0.0.0`, `LISTEN_ADDRESS` unset).
#[test]
fn a_socket_on_every_address_serves_an_api_configured_for_every_address() {
    let Ok(probe) = TcpListener::bind("[::]:0") else {
        eprintln!("no IPv6 on this host: skipped");
        return;
    };
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let configured: SocketAddr = format!("0.0.0.0:{port}").parse().unwrap();
    let (outcome, _) = run("api", &format!("[::]:{port}"), "api", configured);
    assert_eq!(outcome, format!("LISTENING [::]:{port} fd 3"));
}

/// A configuration the process cannot bind while systemd's old socket holds it is refused, saying
/// to restart the socket unit, rather than served on an address it was not configured for.
#[test]
fn a_configured_address_the_old_socket_holds_is_an_error_naming_the_socket() {
    let Ok(probe) = TcpListener::bind("[::]:0") else {
        eprintln!("no IPv6 on this host: skipped");
        return;
    };
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let configured: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (outcome, _) = run("api", &format!("[::]:{port}"), "api", configured);
    // Where IPv6 sockets are IPv6-only (net.ipv6.bindv6only=1) the port is free on 127.0.0.1.
    let bound_itself = outcome.starts_with(&format!("LISTENING {configured} "));
    assert!(
        bound_itself || (outcome.starts_with("ERROR ") && outcome.contains("systemctl restart")),
        "{outcome}"
    );
}

/// An API configured for every address (`0.0.0.0`: `LISTEN_ADDRESS` unset) and not
/// socket-activated binds as systemd binds the bare port of its socket unit: IPv6 and IPv4.
#[test]
fn a_process_binding_every_address_itself_takes_ipv6_and_ipv4() {
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 on this host: skipped");
        return;
    }
    let listener = inherited_or_bound("api", "0.0.0.0:0".parse().unwrap()).unwrap();
    let port = listener.local_addr().unwrap().port();
    for peer in ["[::1]", "127.0.0.1"] {
        let address: SocketAddr = format!("{peer}:{port}").parse().unwrap();
        std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{address}: {e}"));
    }
}

/// Set in the environment of [`turn_away_child`].
const TURN_AWAY_CASE: &str = "STACKR_TEST_TURN_AWAY";

/// A process whose variables name descriptor 3 `api` when it is not a listening socket (here a
/// file; in a process, whatever reused the number): `turn_away_waiting` answers nothing and
/// leaves it open, since the process may be using it. Prints `ANSWERED <n> OPEN <bool>`.
#[test]
fn turn_away_child() {
    use stackr_contract::socket_activation::{turn_away_waiting, TurnAway};
    if std::env::var(TURN_AWAY_CASE).is_err() {
        return;
    }
    let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
    assert_eq!(file.as_raw_fd(), 3, "the file must be descriptor 3");
    std::env::set_var("LISTEN_PID", std::process::id().to_string());
    std::env::set_var("LISTEN_FDS", "1");
    std::env::set_var("LISTEN_FDNAMES", "api");
    let answered = turn_away_waiting("api", TurnAway::Unavailable);
    println!("ANSWERED {answered} OPEN {}", file.metadata().is_ok());
}

#[test]
fn turn_away_leaves_a_descriptor_that_is_not_a_listening_socket_alone() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "turn_away_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(TURN_AWAY_CASE, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("ANSWERED 0 OPEN true"), "{stdout}");
}
