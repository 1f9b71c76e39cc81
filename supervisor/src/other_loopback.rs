//! The other loopback address of a port the stack holds. `localhost` names both 127.0.0.1 and
//! ::1 (Debian's /etc/hosts), and many clients (Node, Python) try ::1 first: a program of another
//! local user listening on [::1]:PORT, next to the stack's 127.0.0.1:PORT, would be sent what
//! browsers and frontends address to `http://localhost:PORT`, auth's mailed links included.
//! The supervisor binds that address without listening on it: calls there are refused at once
//! (clients go on to the address that serves), and no other program can bind it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};

use anyhow::{bail, Result};
use nix::errno::Errno;
use nix::sys::socket::{
    bind, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrIn6,
};

/// The other loopback address at `address`'s port, bound and not listening; `None` when
/// `address` already covers it (`[::]`, which takes IPv4 too) or the host has no such address
/// (IPv6 turned off). `what` names the port in an error.
pub fn reserve(address: SocketAddr, what: &str) -> Result<Option<OwnedFd>> {
    let port = address.port();
    let other = match address.ip() {
        IpAddr::V4(_) => SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        IpAddr::V6(ip) if ip.is_unspecified() => return Ok(None),
        IpAddr::V6(_) => SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
    };
    let family = match other {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let fd = match socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None) {
        Ok(fd) => fd,
        Err(Errno::EAFNOSUPPORT) => return Ok(None),
        Err(e) => bail!("cannot reserve {other} for {what}: {e}"),
    };
    // Without SO_REUSEADDR, which would let another socket share the address while this one
    // is not listening.
    let bound = match other {
        SocketAddr::V4(v4) => bind(fd.as_raw_fd(), &SockaddrIn::from(v4)),
        SocketAddr::V6(v6) => {
            setsockopt(&fd, sockopt::Ipv6V6Only, &true)
                .map_err(|e| anyhow::anyhow!("cannot reserve {other} for {what}: {e}"))?;
            bind(fd.as_raw_fd(), &SockaddrIn6::from(v6))
        }
    };
    match bound {
        Ok(()) => Ok(Some(fd)),
        Err(Errno::EADDRNOTAVAIL) => Ok(None),
        Err(e) => {
            let holder = crate::ports::holder_or_a_hint(port);
            bail!("cannot reserve {other} for {what} ({e}): in use by {holder}; stop that process")
        }
    }
}
