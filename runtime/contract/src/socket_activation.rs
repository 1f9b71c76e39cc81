//! Listening sockets handed over by systemd (socket activation, sd_listen_fds(3)): a `.socket`
//! unit keeps an API's port bound while the process is down (a restart, a crash, a deploy), so
//! no other local user can bind it in between and be sent the requests, cookies and credentials
//! meant for the API. Connections made meanwhile wait in the socket's queue instead of failing.
//!
//! systemd passes them as file descriptors from 3 on, with `LISTEN_PID` (the process meant),
//! `LISTEN_FDS` (how many) and `LISTEN_FDNAMES` (their `FileDescriptorName=`s, `:`-separated).

use std::mem::ManuallyDrop;
use std::net::TcpListener;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixListener;

mod turn_away;

pub use turn_away::{turn_away_waiting, TurnAway};

/// The `FileDescriptorName=` of an API's listening socket.
pub const API_SOCKET: &str = "api";
/// The `FileDescriptorName=` of auth's admin page's listening socket.
pub const ADMIN_SOCKET: &str = "admin";

use crate::env::{LISTEN_FDNAMES, LISTEN_FDS, LISTEN_PID};
/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;

/// What systemd handed this process for a listener.
#[derive(Debug, PartialEq, Eq)]
enum Passed {
    /// No sockets at all (a process started any other way: dev, tests), or sockets meant for
    /// another process (a parent's variables, inherited).
    Nothing,
    /// The descriptor of the socket of that name.
    Named(RawFd),
    /// Sockets, but none of that name: their names, `:`-separated.
    Others(String),
}

/// The socket systemd handed over as `name` if it is a Unix socket (a socket unit listening on a
/// path), else `None`, and [`inherited_or_bound`] finds the TCP socket or binds one. A replica
/// behind its host's load balancer listens on a socket file only the balancer may open: unlike
/// a loopback port, which every local user can reach, whatever arrives on it came through the
/// balancer.
pub fn inherited_unix(name: &str) -> std::io::Result<Option<UnixListener>> {
    let Passed::Named(fd) = passed_to_this_process(name)? else {
        return Ok(None);
    };
    // SAFETY: systemd passed this descriptor to this process (LISTEN_PID is ours) under this
    // name, and nothing else in the process owns it.
    unsafe { unix_listener(fd) }
}

/// The listening socket `fd` as a Unix listener, non-blocking, if it is one; else `None`, and
/// `fd` is left open.
///
/// # Safety
/// `fd` must be an open descriptor nothing else owns: when it is a Unix socket, the listener
/// returned owns it.
unsafe fn unix_listener(fd: RawFd) -> std::io::Result<Option<UnixListener>> {
    // The probe only reads the socket's address and never closes it.
    let probe = ManuallyDrop::new(unsafe { UnixListener::from_raw_fd(fd) });
    // std refuses the address of a socket of another family.
    if probe.local_addr().is_err() {
        return Ok(None);
    }
    let listener = ManuallyDrop::into_inner(probe);
    listener.set_nonblocking(true)?;
    Ok(Some(listener))
}

/// The listening socket systemd handed over as `name` if it listens on `address`, else one bound
/// now to `address`: non-blocking either way, ready for an async runtime.
///
/// A deploy may change a socket unit's settings while it runs: NixOS's switch-to-configuration
/// leaves changed `.socket` units alone, and after a daemon-reload systemd keeps the old listening
/// socket (and adds none). The process may then be handed sockets but none named `name` (a
/// listener the deploy added), or one bound to another address or port than its configuration's.
/// It binds the configured address itself then, with a warning on stderr (the journal), rather
/// than exiting (with no start limit, the unit would be started again forever) or serving on an
/// address it was not configured for. If that address is taken (by the old socket, say), the
/// error says to restart the socket unit.
pub fn inherited_or_bound(
    name: &str,
    address: std::net::SocketAddr,
) -> std::io::Result<TcpListener> {
    let inherited = match passed_to_this_process(name)? {
        Passed::Nothing => return bind_with_other_loopback(address),
        Passed::Others(names) => {
            eprintln!(
                "warning: systemd passed sockets named {names:?} but none named `{name}` (its \
                 socket unit changed since it started, or lacks FileDescriptorName={name}): \
                 binding {address} instead"
            );
            return bind_instead(name, address, None);
        }
        Passed::Named(fd) => {
            // SAFETY: systemd passed this descriptor to this process (LISTEN_PID is ours) under
            // this name, and nothing else in the process owns it: it is taken once, here.
            unsafe { TcpListener::from_raw_fd(fd) }
        }
    };
    let bound_to = inherited.local_addr()?;
    if serves(address, bound_to) {
        inherited.set_nonblocking(true)?;
        return Ok(inherited);
    }
    eprintln!(
        "warning: systemd's socket `{name}` listens on {bound_to}, but the configuration says \
         {address} (its socket unit changed since it started): binding {address} instead"
    );
    // Closed here: systemd still holds its own copy of the old socket.
    drop(inherited);
    bind_instead(name, address, Some(bound_to))
}

/// [`bind`], keeping the other loopback address of the port (see [`reserve_other_loopback`])
/// for as long as the process runs: a process binds its listeners once.
fn bind_with_other_loopback(address: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let listener = bind(address)?;
    if let Some(reserved) = reserve_other_loopback(listener.local_addr()?)? {
        std::mem::forget(reserved);
    }
    Ok(listener)
}

/// The other address `localhost` names at the port of a socket bound to one of them (`[::1]`
/// next to `127.0.0.1`, `127.0.0.1` next to `[::1]`), bound without listening.
/// `localhost` names both loopback addresses (Debian's /etc/hosts), and many clients (Node,
/// Python) try ::1 first: a program of another local user listening there would be sent what
/// browsers and frontends address to `http://localhost:PORT`, auth's mailed links included.
/// Bound, not listening, and without `SO_REUSEADDR`, it refuses calls at once (clients go on to
/// the address that serves) and no other program can bind it.
///
/// `None` when `bound` is neither (`0.0.0.0`, which with IPv6 at hand is bound as `[::]` and
/// covers both, another interface's address, another 127.x) or the host has no such other
/// address (IPv6 off); an error of kind `AddrInUse`, saying what it means, when another program
/// holds it.
pub fn reserve_other_loopback(
    bound: std::net::SocketAddr,
) -> std::io::Result<Option<std::os::fd::OwnedFd>> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    let port = bound.port();
    let other = match bound.ip() {
        IpAddr::V4(Ipv4Addr::LOCALHOST) => SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        IpAddr::V6(Ipv6Addr::LOCALHOST) => SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        _ => return Ok(None),
    };
    // A host without IPv6 (or a process not allowed it) gives no such socket: there is nothing
    // another program could take either.
    let Ok(socket) = socket2::Socket::new(
        socket2::Domain::for_address(other),
        socket2::Type::STREAM,
        None,
    ) else {
        return Ok(None);
    };
    if other.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // SO_REUSEADDR for the bind alone: it lets the bind over connections of an earlier program
    // still in TIME_WAIT there (for a minute after it stopped), never over a socket listening
    // there. Cleared right after, so that no other socket can share the address with this one,
    // which does not listen.
    socket.set_reuse_address(true)?;
    let bound = socket.bind(&other.into());
    socket.set_reuse_address(false)?;
    match bound {
        Ok(()) => Ok(Some(socket.into())),
        Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(std::io::Error::new(
            e.kind(),
            format!(
                "{other}, the other loopback address of port {port}, is taken by another \
                 program, which would be sent what clients address to localhost:{port}: stop it"
            ),
        )),
        Err(e) => Err(e),
    }
}

/// Whether a socket bound to `bound_to` is the listener configured for `configured`: the same
/// address and port, "every address" being either family's unspecified address (systemd binds a
/// bare port to `[::]`, which takes IPv4 too, or to `0.0.0.0` on a host without IPv6).
fn serves(configured: std::net::SocketAddr, bound_to: std::net::SocketAddr) -> bool {
    configured.port() == bound_to.port()
        && (configured.ip() == bound_to.ip()
            || (configured.ip().is_unspecified() && bound_to.ip().is_unspecified()))
}

/// A listener bound now to `address`, non-blocking. Every IPv4 address (`0.0.0.0`, what an unset
/// `LISTEN_ADDRESS` means) is bound as systemd binds a socket unit's bare port: to `[::]`, which
/// takes IPv4 connections too (unless the host's `net.ipv6.bindv6only` says otherwise, as for
/// systemd's `BindIPv6Only=default`), else, on a host without IPv6, to `0.0.0.0`. A supervisor
/// that hands a process its socket binds it so too: the process then finds it listening where
/// its configuration says.
pub fn bind(address: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let bound = if address.ip() == std::net::Ipv4Addr::UNSPECIFIED {
        let every = std::net::SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, address.port()));
        match TcpListener::bind(every) {
            Ok(bound) => bound,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Err(e),
            Err(_) => TcpListener::bind(address)?,
        }
    } else {
        TcpListener::bind(address)?
    };
    bound.set_nonblocking(true)?;
    Ok(bound)
}

/// [`bind`] in place of systemd's socket `name` (on `old`, if it passed one on another address):
/// an error says which socket unit to restart.
fn bind_instead(
    name: &str,
    address: std::net::SocketAddr,
    old: Option<std::net::SocketAddr>,
) -> std::io::Result<TcpListener> {
    bind_with_other_loopback(address).map_err(|e| {
        let old = old.map_or_else(String::new, |old| {
            format!(" (systemd's socket is on {old})")
        });
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot bind {address} in place of systemd's socket `{name}`{old}: {e}; \
                 `systemctl restart` the unit's socket units and the unit to apply their settings"
            ),
        )
    })
}

/// What systemd passed this process as `name`, from the process's environment.
fn passed_to_this_process(name: &str) -> std::io::Result<Passed> {
    let lookup = |var: &str| std::env::var(var).ok();
    inherited_fd(&lookup, std::process::id(), name)
        .map_err(|why| std::io::Error::new(std::io::ErrorKind::InvalidInput, why))
}

/// What systemd passed as `name` to process `pid`, from its variables: [`Passed::Nothing`] when
/// they are meant for another process (a parent's, inherited) or absent; `Err` when they cannot
/// be read.
fn inherited_fd(
    lookup: &dyn Fn(&str) -> Option<String>,
    pid: u32,
    name: &str,
) -> Result<Passed, String> {
    let Some(for_pid) = lookup(LISTEN_PID) else {
        return Ok(Passed::Nothing);
    };
    if for_pid.trim().parse::<u32>().ok() != Some(pid) {
        return Ok(Passed::Nothing);
    }
    let count = lookup(LISTEN_FDS).unwrap_or_default();
    let count: usize = count
        .trim()
        .parse()
        .map_err(|_| format!("{LISTEN_FDS}={count:?} is not a number of sockets"))?;
    let names = lookup(LISTEN_FDNAMES).unwrap_or_default();
    let names: Vec<&str> = names.split(':').take(count).collect();
    let Some(index) = names.iter().position(|n| *n == name) else {
        return Ok(Passed::Others(names.join(":")));
    };
    let index = RawFd::try_from(index).map_err(|_| format!("{LISTEN_FDS}={count} is too many"))?;
    Ok(Passed::Named(FIRST_FD + index))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A socket unit listening on a path hands over a Unix socket, taken as one; a TCP socket is
    /// left alone (and open) for [`inherited_or_bound`].
    #[test]
    fn a_unix_socket_is_told_from_a_tcp_one() {
        use std::os::fd::IntoRawFd;
        let dir = std::env::temp_dir().join(format!("stackr-sa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("api.sock");
        let _ = std::fs::remove_file(&path);
        let fd = UnixListener::bind(&path).unwrap().into_raw_fd();
        // SAFETY: the descriptor was just released by its listener.
        let taken = unsafe { unix_listener(fd) }
            .unwrap()
            .expect("a Unix socket");
        assert_eq!(
            taken.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        std::os::unix::net::UnixStream::connect(&path).unwrap();
        assert!(taken.accept().is_ok(), "accepts what connected");
        assert!(taken.accept().is_err(), "non-blocking");

        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap();
        let fd = tcp.into_raw_fd();
        // SAFETY: as above; on `None` it stays open and is closed below.
        assert!(unsafe { unix_listener(fd) }.unwrap().is_none());
        // SAFETY: still open, owned by nothing else.
        let tcp = unsafe { TcpListener::from_raw_fd(fd) };
        assert_eq!(tcp.local_addr().unwrap(), port, "left open");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `localhost` is ::1 as well, which many clients try first: a process that binds 127.0.0.1
    /// itself (no socket handed over, as under process-compose) keeps ::1 at its port from
    /// every other program, and calls there are refused so that clients go on to 127.0.0.1.
    #[test]
    fn binding_loopback_keeps_the_other_loopback_address_of_the_port() {
        let free = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = free.local_addr().unwrap();
        drop(free);
        let _listener = inherited_or_bound(API_SOCKET, address).unwrap();
        assert!(
            TcpListener::bind(("::1", address.port())).is_err(),
            "another program took [::1]:{}",
            address.port()
        );
        let refused = std::net::TcpStream::connect(("::1", address.port())).expect_err("refused");
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    }

    /// `localhost` names none of these addresses: a port on one of them keeps nothing more.
    #[test]
    fn only_a_loopback_address_has_another_to_keep() {
        for address in [
            "0.0.0.0:8080",
            "127.0.0.2:8080",
            "10.0.0.5:8080",
            "[::]:8080",
            "[fd00::5]:8080",
        ] {
            let reserved = reserve_other_loopback(address.parse().unwrap()).unwrap();
            assert!(reserved.is_none(), "{address}");
        }
    }

    /// An earlier server of the port, on both families, closed a call from ::1 first: its end of
    /// that connection waits a minute in TIME_WAIT, which holds no one's socket.
    #[test]
    fn a_connection_of_an_earlier_program_in_time_wait_does_not_stop_the_start() {
        use std::io::Read;
        let earlier = TcpListener::bind("[::]:0").unwrap();
        let port = earlier.local_addr().unwrap().port();
        let mut client = std::net::TcpStream::connect(("::1", port)).unwrap();
        drop(earlier.accept().unwrap());
        let _ = client.read(&mut [0; 1]);
        drop((client, earlier));
        let _listener =
            inherited_or_bound(API_SOCKET, ([127, 0, 0, 1], port).into()).expect("started");
        assert!(
            TcpListener::bind(("::1", port)).is_err(),
            "[::1]:{port} kept"
        );
    }

    #[test]
    fn a_port_whose_other_loopback_address_is_taken_is_refused() {
        let squatter = TcpListener::bind("[::1]:0").unwrap();
        let port = squatter.local_addr().unwrap().port();
        let error =
            inherited_or_bound(API_SOCKET, ([127, 0, 0, 1], port).into()).expect_err("refused");
        assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
        let error = error.to_string();
        assert!(
            error.contains(&format!("[::1]:{port}")) && error.contains("localhost"),
            "{error}"
        );
    }

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
        assert_eq!(inherited_fd(&env(&vars), 42, "api"), Ok(Passed::Named(3)));
        assert_eq!(inherited_fd(&env(&vars), 42, "admin"), Ok(Passed::Named(4)));
    }

    #[test]
    fn sockets_meant_for_another_process_or_none_are_not_taken() {
        let vars = [
            ("LISTEN_PID", "41"),
            ("LISTEN_FDS", "1"),
            ("LISTEN_FDNAMES", "api"),
        ];
        assert_eq!(inherited_fd(&env(&vars), 42, "api"), Ok(Passed::Nothing));
        assert_eq!(inherited_fd(&env(&[]), 42, "api"), Ok(Passed::Nothing));
    }

    #[test]
    fn sockets_of_other_names_are_reported_and_a_bad_count_refused() {
        let vars = [
            ("LISTEN_PID", "42"),
            ("LISTEN_FDS", "1"),
            ("LISTEN_FDNAMES", "web"),
        ];
        assert_eq!(
            inherited_fd(&env(&vars), 42, "api"),
            Ok(Passed::Others("web".to_owned()))
        );
        // Names past the count are not sockets systemd passed.
        let vars = [
            ("LISTEN_PID", "42"),
            ("LISTEN_FDS", "1"),
            ("LISTEN_FDNAMES", "web:api"),
        ];
        assert_eq!(
            inherited_fd(&env(&vars), 42, "api"),
            Ok(Passed::Others("web".to_owned()))
        );
        let vars = [("LISTEN_PID", "42"), ("LISTEN_FDS", "x")];
        assert!(inherited_fd(&env(&vars), 42, "api")
            .unwrap_err()
            .contains("LISTEN_FDS"));
    }

    #[test]
    fn every_address_of_either_family_is_the_same_listener() {
        let addr = |s: &str| s.parse::<std::net::SocketAddr>().unwrap();
        assert!(serves(addr("0.0.0.0:80"), addr("[::]:80")));
        assert!(serves(addr("0.0.0.0:80"), addr("0.0.0.0:80")));
        assert!(serves(addr("127.0.0.1:80"), addr("127.0.0.1:80")));
        assert!(!serves(addr("0.0.0.0:80"), addr("[::]:81")));
        assert!(!serves(addr("127.0.0.1:80"), addr("[::]:80")));
        assert!(!serves(addr("0.0.0.0:80"), addr("127.0.0.1:80")));
    }
}
