//! The other loopback address of a port the stack holds ([`reserve_other_loopback`] says why).

use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use anyhow::{bail, Result};
use stackr_contract::socket_activation::reserve_other_loopback;

/// The other loopback address of `bound`'s port, bound without listening; `what` names the port
/// in an error.
pub fn reserve(bound: SocketAddr, what: &str) -> Result<Option<OwnedFd>> {
    match reserve_other_loopback(bound) {
        Ok(reserved) => Ok(reserved),
        // Not named from the port's listeners: the stack's own one is among them, and a
        // program holding the address need not listen.
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            bail!("{what}: {e} (`sudo ss -tanp` shows which)")
        }
        Err(e) => bail!(
            "{what}: cannot keep the other loopback address of port {}: {e}",
            bound.port()
        ),
    }
}
