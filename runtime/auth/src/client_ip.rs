//! The client's address, for rate limiting and the session's `ipAddress`.
//!
//! By default the TCP peer address is used: it cannot be forged. `X-Forwarded-For` is believed
//! only from the reverse proxies listed in `AUTH_TRUSTED_PROXIES`, and read right to left: every
//! proxy appends the address it saw, so the right-most entries are written by proxies we trust
//! and everything left of them by whoever connected to the first one. The client is the
//! right-most entry that is not itself a trusted proxy; entries further left are ignored, so a
//! client prepending its own entries changes nothing.
//!
//! A connection on a Unix socket (a replica behind its host's load balancer, on a socket file
//! only the balancer may open) is the balancer's: its peer is [`LOCAL_PROXY`], a trusted proxy
//! whatever `AUTH_TRUSTED_PROXIES` says.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::state::AppState;

/// Client IP as a string (`""` when unknown, like BetterAuth).
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            resolve(parts, &state.config.trusted_proxies)
                .map(|ip| ip.to_string())
                .unwrap_or_default(),
        ))
    }
}

/// An address range: one address (`10.0.0.1`) or a CIDR block (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has an invalid prefix length"))?,
        };
        Ok(IpNet {
            addr: canonical(addr),
            prefix,
        })
    }
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), self.prefix, 32)
                    == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(net.into(), self.prefix, 128) == masked(ip.into(), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// The top `prefix` bits of a `bits`-wide address.
fn masked(addr: u128, prefix: u8, bits: u32) -> u128 {
    let drop = bits - u32::from(prefix);
    addr.checked_shr(drop).unwrap_or(0)
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, what a dual-stack socket reports) as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The header a trusted proxy names the client in.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The peer of every connection on a Unix socket: an address no TCP connection comes from.
pub const LOCAL_PROXY: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

/// The client address of a request (see the module docs); `None` when the peer is unknown.
pub fn resolve(parts: &Parts, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = canonical(parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip());
    let trusted = |ip: IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if peer != LOCAL_PROXY.ip() && !trusted(peer) {
        return Some(peer);
    }
    let entries: Vec<&str> = parts
        .headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        match entry.trim().parse::<IpAddr>().map(canonical) {
            Ok(ip) if trusted(ip) => client = ip,
            Ok(ip) => return Some(ip),
            // Garbage can only come from the untrusted side: keep the last proxy-written entry.
            Err(_) => break,
        }
    }
    Some(client)
}

/// The longest user agent a session keeps, in characters: real ones are a few hundred, while a
/// request's headers may carry a hundred kilobytes, which every listing of the user's sessions
/// (and each `get-session`) would then serve back.
pub const MAX_USER_AGENT_CHARS: usize = 1024;

/// `User-Agent` header, for the session row, cut to [`MAX_USER_AGENT_CHARS`].
pub fn user_agent(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(MAX_USER_AGENT_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(peer: &str, xff: &[&str]) -> Parts {
        let mut req = axum::http::Request::builder();
        for h in xff {
            req = req.header("x-forwarded-for", *h);
        }
        let (mut parts, _) = req.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(SocketAddr::new(peer.parse().unwrap(), 1)));
        parts
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn forwarded_for_is_read_right_to_left_from_trusted_proxies_only() {
        let proxies = nets(&["10.0.0.0/8", "fd00::1"]);
        let ip = |peer, xff: &[&str]| resolve(&parts(peer, xff), &proxies).unwrap().to_string();
        // Not from a proxy: the header is ignored.
        assert_eq!(ip("192.0.2.1", &["1.1.1.1"]), "192.0.2.1");
        // From a proxy: the right-most untrusted entry; what the client prepended is ignored.
        assert_eq!(ip("10.0.0.2", &["6.6.6.6, 192.0.2.7"]), "192.0.2.7");
        assert_eq!(
            ip("10.0.0.2", &["6.6.6.6", "192.0.2.7, 10.1.1.1"]),
            "192.0.2.7"
        );
        assert_eq!(ip("fd00::1", &["6.6.6.6, 2001:db8::5"]), "2001:db8::5");
        // Nothing usable: the last trusted hop.
        assert_eq!(ip("10.0.0.2", &[]), "10.0.0.2");
        assert_eq!(ip("10.0.0.2", &["junk, 10.0.0.3"]), "10.0.0.3");
        assert_eq!(ip("::ffff:192.0.2.9", &["6.6.6.6"]), "192.0.2.9");
    }

    /// A Unix socket's connections come from the load balancer, trusted without being listed;
    /// a loopback peer is one no longer (any local user can connect there).
    #[test]
    fn a_unix_sockets_peer_is_the_trusted_balancer() {
        let unlisted = nets(&[]);
        let ip = |peer, xff: &[&str]| resolve(&parts(peer, xff), &unlisted).unwrap().to_string();
        assert_eq!(ip("0.0.0.0", &["6.6.6.6, 192.0.2.7"]), "192.0.2.7");
        assert_eq!(ip("127.0.0.1", &["192.0.2.7"]), "127.0.0.1");
    }

    #[test]
    fn ip_nets() {
        assert!(nets(&["0.0.0.0/0"])[0].contains("8.8.8.8".parse().unwrap()));
        assert!(!nets(&["10.0.0.0/8"])[0].contains("11.0.0.1".parse().unwrap()));
        assert!(nets(&["2001:db8::/32"])[0].contains("2001:db8:1::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("nope".parse::<IpNet>().is_err());
    }
}
