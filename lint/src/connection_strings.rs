//! Database and Redis addresses written into text: `postgres://user@host:port/db`,
//! `redis://host:port`, libpq key/value strings (`host=… port=… dbname=…`) and bare
//! `127.0.0.1:port` / `localhost:port`.

use std::sync::LazyLock;

use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Postgres,
    Redis,
    /// A bare `host:port`: could be either.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub store: Store,
    /// Byte offset of the address in the text.
    pub offset: usize,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub database: Option<String>,
}

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(postgres(?:ql)?|rediss?)://([^\s"'`<>,;)]*)"#).expect("valid regex")
});
static CONNINFO_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(host|hostaddr|dbname|user|port)\s*=\s*'?([A-Za-z0-9_./\-]+)")
        .expect("valid regex")
});
static HOST_PORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\blocalhost|\b127\.0\.0\.1|\b0\.0\.0\.0|\[::1\]):(\d{2,5})\b")
        .expect("valid regex")
});

pub fn addresses_in(text: &str) -> Vec<Address> {
    let mut found = Vec::new();
    let mut url_ranges = Vec::new();
    for capture in URL.captures_iter(text) {
        let whole = capture.get(0).expect("group 0");
        url_ranges.push(whole.range());
        let store = if capture[1].to_ascii_lowercase().starts_with("redis") {
            Store::Redis
        } else {
            Store::Postgres
        };
        found.push(parse_url(store, whole.start(), &capture[2]));
    }
    if let Some(conninfo) = conninfo(text) {
        found.push(conninfo);
    }
    for capture in HOST_PORT.captures_iter(text) {
        let whole = capture.get(0).expect("group 0");
        if url_ranges.iter().any(|r| r.contains(&whole.start())) {
            continue;
        }
        found.push(Address {
            store: Store::Unknown,
            offset: whole.start(),
            user: None,
            port: capture[1].parse().ok(),
            database: None,
        });
    }
    found
}

/// `user:password@host:port/database?key=value` (the part after `scheme://`).
fn parse_url(store: Store, offset: usize, rest: &str) -> Address {
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = before_query.split_once('/').unwrap_or((before_query, ""));
    let (user_info, host_port) = match authority.rsplit_once('@') {
        Some((user_info, host_port)) => (Some(user_info), host_port),
        None => (None, authority),
    };
    let mut address = Address {
        store,
        offset,
        user: user_info
            .map(|u| u.split(':').next().unwrap_or_default().to_owned())
            .filter(|u| !u.is_empty()),
        port: host_port
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok()),
        database: (store == Store::Postgres && !path.is_empty()).then(|| path.to_owned()),
    };
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("dbname", value)) => address.database = Some(value.to_owned()),
            Some(("user", value)) => address.user = Some(value.to_owned()),
            Some(("port", value)) => address.port = value.parse().ok().or(address.port),
            _ => {}
        }
    }
    address
}

/// libpq `host=… port=… dbname=… user=…`, recognised only when a host or dbname is given so a
/// lone `port=8080` elsewhere is not taken for a database address.
fn conninfo(text: &str) -> Option<Address> {
    let keys: Vec<_> = CONNINFO_KEY.captures_iter(text).collect();
    let has = |key: &str| keys.iter().any(|c| c[1].eq_ignore_ascii_case(key));
    if !(has("dbname") || has("host") || has("hostaddr")) || keys.len() < 2 {
        return None;
    }
    let value = |key: &str| {
        keys.iter()
            .find(|c| c[1].eq_ignore_ascii_case(key))
            .map(|c| c[2].to_owned())
    };
    Some(Address {
        store: Store::Postgres,
        offset: keys[0].get(0).expect("group 0").start(),
        user: value("user"),
        port: value("port").and_then(|p| p.parse().ok()),
        database: value("dbname"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_taken_apart() {
        let found = addresses_in("x postgres://wallet:pw@127.0.0.1:54322/wallet?sslmode=disable");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].offset, 2);
        assert_eq!(found[0].user.as_deref(), Some("wallet"));
        assert_eq!(found[0].port, Some(54322));
        assert_eq!(found[0].database.as_deref(), Some("wallet"));
        let redis = &addresses_in("redis://127.0.0.1:63792/0")[0];
        assert_eq!(
            (redis.store, redis.port, redis.database.clone()),
            (Store::Redis, Some(63792), None)
        );
    }

    #[test]
    fn conninfo_and_bare_ports() {
        let found = addresses_in("host=127.0.0.1 port=54322 dbname=wallet");
        let conninfo = found.iter().find(|a| a.store == Store::Postgres).unwrap();
        assert_eq!(
            (conninfo.port, conninfo.database.as_deref()),
            (Some(54322), Some("wallet"))
        );
        let bare = addresses_in("connect to localhost:63792 now");
        assert_eq!((bare[0].store, bare[0].port), (Store::Unknown, Some(63792)));
        assert!(addresses_in("listen on port=8080").is_empty());
    }
}
