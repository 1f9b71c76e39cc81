//! Listening sockets handed over by systemd (socket activation, sd_listen_fds(3)): a `.socket`
//! unit keeps an API's port bound while the process is down (a restart, a crash, a deploy), so
//! no other local user can bind it in between and be sent the requests, cookies and credentials
//! meant for the API. Connections made meanwhile wait in the socket's queue instead of failing.
//!
//! systemd passes them as file descriptors from 3 on, with `LISTEN_PID` (the process meant),
//! `LISTEN_FDS` (how many) and `LISTEN_FDNAMES` (their `FileDescriptorName=`s, `:`-separated).

use std::net::TcpListener;
use std::os::fd::{FromRawFd, RawFd};

/// The `FileDescriptorName=` of an API's listening socket.
pub const API_SOCKET: &str = "api";
/// The `FileDescriptorName=` of auth's admin page's listening socket.
pub const ADMIN_SOCKET: &str = "admin";

const LISTEN_PID: &str = "LISTEN_PID";
const LISTEN_FDS: &str = "LISTEN_FDS";
const LISTEN_FDNAMES: &str = "LISTEN_FDNAMES";
/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;

/// The listening socket named `name` that systemd handed this process, if it handed one; a
/// process started any other way (dev, tests) binds its own. Non-blocking, ready for an async
/// runtime.
fn inherited_tcp_listener(name: &str) -> std::io::Result<Option<TcpListener>> {
    let lookup = |var: &str| std::env::var(var).ok();
    let fd = inherited_fd(&lookup, std::process::id(), name)
        .map_err(|why| std::io::Error::new(std::io::ErrorKind::InvalidInput, why))?;
    let Some(fd) = fd else { return Ok(None) };
    // SAFETY: systemd passed this descriptor to this process (LISTEN_PID is ours) under this
    // name, and nothing else in the process owns it: it is taken once, here.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    listener.local_addr()?;
    listener.set_nonblocking(true)?;
    Ok(Some(listener))
}

/// The socket systemd handed over as `name`, else one bound now to `address`: non-blocking either
/// way.
pub fn inherited_or_bound(
    name: &str,
    address: std::net::SocketAddr,
) -> std::io::Result<TcpListener> {
    if let Some(inherited) = inherited_tcp_listener(name)? {
        return Ok(inherited);
    }
    let bound = TcpListener::bind(address)?;
    bound.set_nonblocking(true)?;
    Ok(bound)
}

/// The descriptor systemd passed as `name` to process `pid`, from its variables: `None` when
/// they are meant for another process (a parent's, inherited) or absent; `Err` when they
/// cannot be read, or name sockets but not this one (the unit and the process disagree).
fn inherited_fd(
    lookup: &dyn Fn(&str) -> Option<String>,
    pid: u32,
    name: &str,
) -> Result<Option<RawFd>, String> {
    let Some(for_pid) = lookup(LISTEN_PID) else {
        return Ok(None);
    };
    if for_pid.trim().parse::<u32>().ok() != Some(pid) {
        return Ok(None);
    }
    let count = lookup(LISTEN_FDS).unwrap_or_default();
    let count: usize = count
        .trim()
        .parse()
        .map_err(|_| format!("{LISTEN_FDS}={count:?} is not a number of sockets"))?;
    let names = lookup(LISTEN_FDNAMES).unwrap_or_default();
    let names: Vec<&str> = names.split(':').take(count).collect();
    let index = names.iter().position(|n| *n == name).ok_or_else(|| {
        format!(
            "systemd passed sockets named {:?} but none named `{name}`: set \
             FileDescriptorName={name} on the socket unit",
            names.join(":")
        )
    })?;
    let index = RawFd::try_from(index).map_err(|_| format!("{LISTEN_FDS}={count} is too many"))?;
    Ok(Some(FIRST_FD + index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |var| {
            pairs
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn a_named_socket_is_found_in_the_order_systemd_passed_them() {
        let vars = [
            ("LISTEN_PID", "42"),
            ("LISTEN_FDS", "2"),
            ("LISTEN_FDNAMES", "api:admin"),
        ];
        assert_eq!(inherited_fd(&env(&vars), 42, "api"), Ok(Some(3)));
        assert_eq!(inherited_fd(&env(&vars), 42, "admin"), Ok(Some(4)));
    }

    #[test]
    fn sockets_meant_for_another_process_or_none_are_not_taken() {
        let vars = [
            ("LISTEN_PID", "41"),
            ("LISTEN_FDS", "1"),
            ("LISTEN_FDNAMES", "api"),
        ];
        assert_eq!(inherited_fd(&env(&vars), 42, "api"), Ok(None));
        assert_eq!(inherited_fd(&env(&[]), 42, "api"), Ok(None));
    }

    #[test]
    fn a_socket_of_another_name_or_a_bad_count_is_refused_saying_what_to_set() {
        let vars = [
            ("LISTEN_PID", "42"),
            ("LISTEN_FDS", "1"),
            ("LISTEN_FDNAMES", "web"),
        ];
        let why = inherited_fd(&env(&vars), 42, "api").unwrap_err();
        assert!(why.contains("FileDescriptorName=api"), "{why}");
        // Names past the count are not sockets systemd passed.
        let vars = [
            ("LISTEN_PID", "42"),
            ("LISTEN_FDS", "1"),
            ("LISTEN_FDNAMES", "web:api"),
        ];
        assert!(inherited_fd(&env(&vars), 42, "api").is_err());
        let vars = [("LISTEN_PID", "42"), ("LISTEN_FDS", "x")];
        assert!(inherited_fd(&env(&vars), 42, "api")
            .unwrap_err()
            .contains("LISTEN_FDS"));
    }
}
