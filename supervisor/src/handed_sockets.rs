//! Listening sockets the supervisor binds once and hands to a process at every start, as
//! systemd's socket activation does (sd_listen_fds(3): descriptors from 3 on, `LISTEN_PID`,
//! `LISTEN_FDS`, `LISTEN_FDNAMES`). While the process is down (a crash, its restart back-off) the
//! port stays bound: no other local program can take it and be sent what the stack's services
//! and browsers meant for the process (auth's port gets every user's cookie and the services'
//! credential). Connections made meanwhile wait in the socket's queue and are served once it is
//! back.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use anyhow::{bail, Result};
use stackr_contract::env::{LISTEN_FDNAMES, LISTEN_FDS};

/// A socket to hand to a process: bound to `address`, passed under `name` (its
/// `FileDescriptorName=`, e.g. `api`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandedSocket {
    /// The process of the file that gets it.
    pub process: String,
    pub name: String,
    pub address: SocketAddr,
}

/// The first descriptor a process is handed (`SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;
/// Held descriptors are moved at or above this number, so that placing them at 3, 4, … in a
/// child never overwrites one not yet placed.
const HELD_FROM: RawFd = 100;

/// The bound sockets, by process; closed when the last clone of this is dropped.
#[derive(Debug, Clone, Default)]
pub struct HeldSockets {
    by_process: Arc<BTreeMap<String, Vec<(String, OwnedFd)>>>,
    /// The other loopback address of each (`other_loopback`), held as long.
    _reserved: Arc<Vec<OwnedFd>>,
}

impl HeldSockets {
    /// Binds every socket of `sockets` whose process `runs`, refusing an address something else
    /// holds and naming it.
    pub fn bind(sockets: &[HandedSocket], runs: impl Fn(&str) -> bool) -> Result<Self> {
        let mut held: BTreeMap<String, Vec<(String, OwnedFd)>> = BTreeMap::new();
        let mut reserved = Vec::new();
        for socket in sockets.iter().filter(|s| runs(&s.process)) {
            // Bound as the process would bind it itself (0.0.0.0 as `[::]`, both families): it
            // finds the socket where its configuration says, and takes it.
            let listener = match stackr_contract::socket_activation::bind(socket.address) {
                Ok(listener) => listener,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    let holder = crate::ports::holder_or_a_hint(socket.address.port());
                    bail!(
                        "cannot listen on {} for {}: in use by {holder}; stop that process",
                        socket.address,
                        socket.process
                    );
                }
                Err(e) => bail!(
                    "cannot listen on {} for {} ({e}): is that an address of this machine? Check \
                     the service's address settings (`adminBind`, `LISTEN_ADDRESS`) in \
                     stackr.config.json",
                    socket.address,
                    socket.process
                ),
            };
            // Handed over blocking, as systemd hands its sockets over.
            listener.set_nonblocking(false)?;
            held.entry(socket.process.clone())
                .or_default()
                .push((socket.name.clone(), moved_high(&listener)?));
            reserved.extend(crate::other_loopback::reserve(
                listener.local_addr()?,
                &socket.process,
            )?);
        }
        Ok(HeldSockets {
            by_process: Arc::new(held),
            _reserved: Arc::new(reserved),
        })
    }

    /// From now on, every call to the sockets of `process`, which will not run again, is
    /// accepted and closed at once, as `port_hold` does for services left out: kept in the
    /// queue, it would wait for an answer that never comes.
    pub fn refuse_calls(&self, process: &str) {
        for (_, fd) in self.by_process.get(process).into_iter().flatten() {
            let Ok(copy) = fd.try_clone() else { continue };
            let listener = TcpListener::from(copy);
            // The process set the socket non-blocking (a shared setting): this thread waits.
            if listener.set_nonblocking(false).is_err() {
                continue;
            }
            std::thread::spawn(move || loop {
                crate::port_hold::close_a_call(&listener);
            });
        }
    }

    /// What `process` is handed: `(name, descriptor)` in the order they are passed.
    pub fn of(&self, process: &str) -> Option<Handover> {
        let sockets = self.by_process.get(process)?;
        Some(Handover {
            fds: sockets.iter().map(|(_, fd)| fd.as_raw_fd()).collect(),
            names: sockets
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(":"),
        })
    }
}

/// A copy of `listener`'s descriptor at [`HELD_FROM`] or above, closed on exec (every other
/// process the supervisor starts must not get it).
fn moved_high(listener: &TcpListener) -> Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor `listener` owns returns a new descriptor (or -1),
    // which nothing else owns.
    let fd = unsafe { libc::fcntl(listener.as_raw_fd(), libc::F_DUPFD_CLOEXEC, HELD_FROM) };
    if fd < 0 {
        bail!(
            "cannot keep a listening socket: {}",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: see above; `listener` closes its own copy when dropped.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The sockets of one start of a process.
#[derive(Debug, Clone)]
pub struct Handover {
    fds: Vec<RawFd>,
    names: String,
}

impl Handover {
    /// The variables that tell the process what it was handed, but for `LISTEN_PID`, which only
    /// the started shell knows: [`Handover::shell_prefix`] sets it.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [
            (LISTEN_FDS, self.fds.len().to_string()),
            (LISTEN_FDNAMES, self.names.clone()),
        ]
    }

    /// Put before the command: the shell's pid is the one the process has once the command
    /// `exec`s it (a command that runs it as a child instead hands it nothing, and binding the
    /// held port then fails).
    pub fn shell_prefix() -> &'static str {
        "LISTEN_PID=$$; export LISTEN_PID\n"
    }

    /// In the child, between fork and exec: the sockets at 3, 4, … and open across exec.
    /// Only async-signal-safe calls.
    pub fn place(&self) -> std::io::Result<()> {
        for (i, &fd) in self.fds.iter().enumerate() {
            // SAFETY: dup2 on descriptors this process holds; the copy it makes is not closed on
            // exec.
            if unsafe { libc::dup2(fd, FIRST_FD + i as RawFd) } < 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}
