//! Ports held by `stackr dev` itself while the stack runs: those of the services `--only` left
//! out. The started services still address those services at those ports (a stackr project's
//! `SERVICE_URLS`), so another local program listening there would receive their calls, the
//! users' session cookies included. A held port accepts every connection and closes it at once,
//! so a call fails as it would against a service that is not running. Also held: the other
//! loopback address of the ports the stack's own servers bind on 127.0.0.1 alone (its PostgreSQL
//! and Redis), which they leave to anyone.

use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use anyhow::{bail, Result};

/// The held ports; dropping this lets them go.
pub struct PortHolds {
    listeners: Vec<Arc<TcpListener>>,
    /// The other loopback address of each port (`other_loopback`).
    reserved: Vec<OwnedFd>,
}

/// Holds each of `ports` (port, what it is for) on loopback, where the stack's services call it:
/// a listening socket there keeps any other program from binding the port on loopback or on every
/// interface. Refuses a port something else already holds, naming it.
pub fn hold(ports: &[(u16, String)]) -> Result<PortHolds> {
    // Built up as it goes: a refusal drops it, which lets go of the ports already held.
    let mut holds = PortHolds {
        listeners: Vec::with_capacity(ports.len()),
        reserved: Vec::new(),
    };
    for (port, what) in ports {
        let Ok(listener) = TcpListener::bind(("127.0.0.1", *port)) else {
            let holder = crate::ports::holder_or_a_hint(*port);
            bail!(
                "port {port} ({what}) is in use by {holder}: the services started would send it their calls, with their users' cookies; stop that process"
            );
        };
        holds.reserved.extend(crate::other_loopback::reserve(
            listener.local_addr()?,
            what,
        )?);
        let listener = Arc::new(listener);
        let accepting = Arc::downgrade(&listener);
        std::thread::spawn(move || loop {
            // Ends once `PortHolds` is dropped: shutting the socket down fails `accept`, and the
            // socket is gone when it is tried again.
            let Some(listener) = accepting.upgrade() else {
                break;
            };
            close_a_call(&listener);
        });
        holds.listeners.push(listener);
    }
    Ok(holds)
}

/// Waits for a call on `listener` (blocking) and closes it at once, as a port nothing listens on
/// would refuse it.
pub(crate) fn close_a_call(listener: &TcpListener) {
    match listener.accept() {
        Ok((stream, _)) => drop::<TcpStream>(stream),
        // Out of file descriptors, say: try again shortly rather than leave calls waiting in the
        // backlog.
        Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
    }
}

impl PortHolds {
    /// Keeps the other loopback address of each of `ports` (port, what listens there), whose
    /// server binds 127.0.0.1 itself, for as long as this is held (see the `other_loopback`
    /// module). Refuses one another program holds, naming it.
    pub fn keep_other_loopback(&mut self, ports: &[(u16, String)]) -> Result<()> {
        for (port, what) in ports {
            let bound = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, *port));
            self.reserved
                .extend(crate::other_loopback::reserve(bound, what)?);
        }
        Ok(())
    }
}

impl Drop for PortHolds {
    fn drop(&mut self) {
        for listener in &self.listeners {
            // Wakes the thread blocked in `accept` with an error; it ends and closes the socket.
            let _ =
                nix::sys::socket::shutdown(listener.as_raw_fd(), nix::sys::socket::Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn free_port() -> u16 {
        TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[test]
    fn a_held_port_is_closed_to_others_and_answers_nothing_until_let_go() {
        let port = free_port();
        let holds = hold(&[(port, "wallet's API".to_owned())]).unwrap();
        assert!(TcpListener::bind(("127.0.0.1", port)).is_err());
        assert!(TcpListener::bind(("0.0.0.0", port)).is_err());
        let mut call = TcpStream::connect(("127.0.0.1", port)).unwrap();
        call.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut answer = Vec::new();
        assert_eq!(
            call.read_to_end(&mut answer).unwrap_or(0),
            0,
            "closed at once"
        );
        drop(holds);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while TcpListener::bind(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "the port was let go");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    #[test]
    fn the_other_loopback_address_of_a_held_port_refuses_calls_and_cannot_be_taken() {
        let port = free_port();
        let _holds = hold(&[(port, "wallet's API".to_owned())]).unwrap();
        // `localhost` is ::1 as well, which many clients try first.
        assert!(
            TcpListener::bind(("::1", port)).is_err(),
            "another program took [::1]:{port}"
        );
        let refused = TcpStream::connect(("::1", port)).expect_err("refused");
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn a_port_already_taken_is_refused_with_its_holder() {
        let taken = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let error = hold(&[(port, "wallet's API".to_owned())])
            .err()
            .expect("refused")
            .to_string();
        assert!(
            error.contains(&format!("port {port} (wallet's API)")),
            "{error}"
        );
        assert!(error.contains("pid "), "{error}");
    }

    #[test]
    fn a_refusal_lets_go_of_the_ports_held_before_it() {
        let first = free_port();
        let taken = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let second = taken.local_addr().unwrap().port();
        assert!(hold(&[
            (first, "core's API".to_owned()),
            (second, "wallet's API".to_owned())
        ])
        .is_err());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while TcpListener::bind(("127.0.0.1", first)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the first port stayed held"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
