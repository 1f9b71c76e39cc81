//! The other loopback address of a port the stack holds ([`reserve_other_loopback`] says why),
//! refused with the program that holds it.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use anyhow::{bail, Result};
use stackr_contract::socket_activation::reserve_other_loopback;

/// The other loopback address of `bound`'s port, bound without listening; `what` names the port
/// in an error.
pub fn reserve(bound: SocketAddr, what: &str) -> Result<Option<OwnedFd>> {
    match reserve_other_loopback(bound) {
        Ok(reserved) => Ok(reserved),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let holder = crate::ports::holder_or_a_hint(bound.port());
            bail!("{what}: {e} (held by {holder})")
        }
        Err(e) => bail!(
            "{what}: cannot keep the other loopback address of port {}: {e}",
            bound.port()
        ),
    }
}
