//! A process's environment: the plan's, with the planned ports swapped for the real ones.
//!
//! The plan pins dev ports (APIs 8080…, PostgreSQL 15440…, Redis 17380…). The checks must not
//! collide with a dev stack running on the same machine, so each planned port is mapped to a
//! free one (APIs) or to a container's published port (PostgreSQL, Redis). Nothing else changes:
//! variable names, URLs' users and databases, secret file paths are the plan's.

use stackr_contract::env as contract;
use std::collections::BTreeMap;

use stackr::plan::EnvVar;

/// Planned port -> actual port.
pub type PortMap = BTreeMap<u16, u16>;

/// Variables whose whole value is a port.
const PORT_VARS: &[&str] = &[contract::PORT, contract::AUTH_ADMIN_PORT];

pub fn remap_env(planned: &[EnvVar], ports: &PortMap) -> Vec<(String, String)> {
    planned
        .iter()
        .map(|var| {
            let value = if PORT_VARS.contains(&var.name.as_str()) {
                var.value
                    .parse::<u16>()
                    .ok()
                    .and_then(|p| ports.get(&p))
                    .map_or(var.value.clone(), u16::to_string)
            } else {
                remap_loopback_ports(&var.value, ports)
            };
            (var.name.clone(), value)
        })
        .collect()
}

/// Rewrites `127.0.0.1:<port>` and `localhost:<port>` wherever the port is a planned one (URLs,
/// comma lists of URLs); other text is left alone.
fn remap_loopback_ports(value: &str, ports: &PortMap) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some((before, host, after)) = next_loopback_host(rest) {
        out.push_str(before);
        out.push_str(host);
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        match after[..digits]
            .parse::<u16>()
            .ok()
            .and_then(|p| ports.get(&p))
        {
            Some(actual) => out.push_str(&actual.to_string()),
            None => out.push_str(&after[..digits]),
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// Splits at the first `127.0.0.1:` or `localhost:`: (text before, host with colon, text after).
fn next_loopback_host(text: &str) -> Option<(&str, &str, &str)> {
    ["127.0.0.1:", "localhost:"]
        .iter()
        .filter_map(|host| text.find(host).map(|i| (i, host.len())))
        .min()
        .map(|(i, len)| (&text[..i], &text[i..i + len], &text[i + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaps_only_planned_loopback_ports() {
        let ports = PortMap::from([(8888, 41000), (54321, 32771), (8080, 41001)]);
        let env = remap_env(
            &[
                EnvVar::new("PORT", "8080"),
                EnvVar::new("DATABASE_URL", "postgres://notes@127.0.0.1:54321/notes"),
                EnvVar::new("AUTH_URL", "http://127.0.0.1:8888"),
                EnvVar::new(
                    "AUTH_TRUSTED_ORIGINS",
                    "http://localhost:3000,http://localhost:8888",
                ),
                EnvVar::new("STACKR_QUEUE", "notes"),
            ],
            &ports,
        );
        let get = |k: &str| env.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(get("PORT"), "41001");
        assert_eq!(
            get("DATABASE_URL"),
            "postgres://notes@127.0.0.1:32771/notes"
        );
        assert_eq!(get("AUTH_URL"), "http://127.0.0.1:41000");
        assert_eq!(
            get("AUTH_TRUSTED_ORIGINS"),
            "http://localhost:3000,http://localhost:41000"
        );
        assert_eq!(get("STACKR_QUEUE"), "notes");
    }
}
