//! Reads pg_hba text as PostgreSQL does (pg_hba.conf(5), "Client Authentication"): the first line
//! whose connection type, database, user and client address all match a login decides its
//! method; a login no line matches is refused. Only the syntax the module library and nixpkgs'
//! defaults write (and tests add) is understood; anything else (`@file` lists, `+group` users,
//! host names, `include` directives) stops the test rather than being guessed at.

use std::net::IpAddr;

/// How a client reaches the server, as pg_hba's connection types tell connections apart.
#[derive(Clone, Copy, Debug)]
pub enum Via {
    /// The server's Unix socket (`local`).
    Socket,
    /// TCP from `from`, with or without SSL (`host`, `hostssl`, `hostnossl`; never GSSAPI
    /// encryption, so `hostgssenc` never matches and `hostnogssenc` always does).
    Tcp { from: IpAddr, ssl: bool },
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Via::Socket => write!(f, "through the socket"),
            Via::Tcp { from, ssl } => write!(
                f,
                "over TCP from {from} {}",
                if *ssl { "with SSL" } else { "without SSL" }
            ),
        }
    }
}

/// The database a login asks for: a named one, or a physical replication connection (which
/// only the `replication` keyword matches, and `all` does not).
#[derive(Clone, Copy, Debug)]
pub enum Database<'a> {
    Named(&'a str),
    Replication,
}

impl std::fmt::Display for Database<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Named(name) => write!(f, "database {name}"),
            Database::Replication => write!(f, "replication"),
        }
    }
}

/// Every login of interest over TCP: loopback (IPv4 and IPv6) and another host, with and
/// without SSL.
pub fn tcp_logins() -> Vec<Via> {
    let mut found = Vec::new();
    for from in ["127.0.0.1", "::1", "192.0.2.7", "2001:db8::7"] {
        for ssl in [false, true] {
            found.push(Via::Tcp {
                from: from.parse().unwrap(),
                ssl,
            });
        }
    }
    found
}

/// The method of the first line of `text` matching a login of `user` to `database` via `via`;
/// `None` when no line matches (PostgreSQL refuses the login).
pub fn method<'t>(text: &'t str, via: Via, database: Database, user: &str) -> Option<&'t str> {
    text.lines()
        .filter_map(|line| {
            let fields = fields(line);
            (!fields.is_empty()).then_some((line, fields))
        })
        .find_map(|(line, fields)| matches(line, &fields, via, database, user))
}

/// The fields of one line: comments dropped, double-quoted text kept whole (quotes included,
/// since a quoted word is a name, never a keyword).
fn fields(line: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut start = None;
    let mut quoted = false;
    // A space after the last character ends the last field.
    for (i, c) in line.char_indices().chain([(line.len(), ' ')]) {
        if c == '"' {
            quoted = !quoted;
        }
        if !quoted && (c.is_whitespace() || c == '#') {
            if let Some(s) = start.take() {
                found.push(&line[s..i]);
            }
            if c == '#' {
                break;
            }
        } else {
            start.get_or_insert(i);
        }
    }
    found
}

/// The method of the line (`fields` of `line`) when it matches the login.
fn matches<'t>(
    line: &'t str,
    fields: &[&'t str],
    via: Via,
    database: Database,
    user: &str,
) -> Option<&'t str> {
    let kind = fields[0];
    assert!(
        !kind.starts_with("include"),
        "pg_hba line `{line}`: include directives are not read here"
    );
    let at = |i: usize| -> &'t str {
        fields
            .get(i)
            .copied()
            .unwrap_or_else(|| panic!("pg_hba line `{line}` has too few fields"))
    };
    let type_matches = match (kind, via) {
        ("local", Via::Socket) => true,
        ("local", Via::Tcp { .. }) => false,
        ("host" | "hostnogssenc", Via::Tcp { .. }) => true,
        ("hostssl", Via::Tcp { ssl, .. }) => ssl,
        ("hostnossl", Via::Tcp { ssl, .. }) => !ssl,
        ("hostgssenc", Via::Tcp { .. }) => false,
        ("host" | "hostnogssenc" | "hostssl" | "hostnossl" | "hostgssenc", Via::Socket) => false,
        _ => panic!("pg_hba line `{line}`: unknown connection type `{kind}`"),
    };
    // A line of another connection type has other fields (`local` has no address).
    if !type_matches {
        return None;
    }
    let database_matches = list(line, at(1)).any(|entry| match (entry, database) {
        (Entry::Keyword("replication"), Database::Replication) => true,
        (_, Database::Replication) => false,
        (Entry::Keyword("all"), _) => true,
        // The module library's roles are members of no other role, so samerole is sameuser.
        (Entry::Keyword("sameuser" | "samerole"), Database::Named(name)) => name == user,
        (Entry::Keyword("replication"), _) => false,
        (Entry::Keyword(other), _) => {
            panic!("pg_hba line `{line}`: database `{other}` is not read here")
        }
        (Entry::Name(name), Database::Named(wanted)) => name == wanted,
    });
    let user_matches = list(line, at(2)).any(|entry| match entry {
        Entry::Keyword("all") => true,
        Entry::Keyword(other) => panic!("pg_hba line `{line}`: user `{other}` is not read here"),
        Entry::Name(name) => name == user,
    });
    let (address_matches, method_at) = match via {
        Via::Socket => (true, 3),
        Via::Tcp { from, .. } => address(line, at(3), fields.get(4).copied(), from),
    };
    (database_matches && user_matches && address_matches).then(|| at(method_at))
}

enum Entry<'a> {
    /// An unquoted word PostgreSQL reads as a keyword (`all`, `sameuser`, ...), or `@`/`+` forms.
    Keyword(&'a str),
    Name(&'a str),
}

/// The entries of a comma-separated database or user field.
fn list<'a>(line: &'a str, field: &'a str) -> impl Iterator<Item = Entry<'a>> + 'a {
    field.split(',').map(move |entry| {
        if let Some(name) = entry.strip_prefix('"').and_then(|e| e.strip_suffix('"')) {
            Entry::Name(name)
        } else if ["all", "sameuser", "samerole", "replication"].contains(&entry)
            || entry.starts_with(['@', '+'])
        {
            Entry::Keyword(entry)
        } else {
            assert!(
                !entry.is_empty() && !entry.contains('"'),
                "pg_hba line `{line}`: entry `{entry}` is not read here"
            );
            // Unquoted names are matched as written (PostgreSQL does not fold their case).
            Entry::Name(entry)
        }
    })
}

/// Whether a host line's address (`field`, and the mask after it when it is a bare address)
/// matches a client at `from`, and where the line's method is.
fn address(line: &str, field: &str, next: Option<&str>, from: IpAddr) -> (bool, usize) {
    let loopback = from.is_loopback();
    match field {
        "all" => (true, 4),
        // The server's own addresses: of the clients here, only loopback is the server's.
        "samehost" | "samenet" => (loopback, 4),
        _ => {
            if let Some((network, bits)) = field.split_once('/') {
                let network: IpAddr = network
                    .parse()
                    .unwrap_or_else(|_| panic!("pg_hba line `{line}`: address `{field}`"));
                let bits: u32 = bits
                    .parse()
                    .unwrap_or_else(|_| panic!("pg_hba line `{line}`: address `{field}`"));
                (in_network(from, network, bits), 4)
            } else if let Ok(network) = field.parse::<IpAddr>() {
                let mask: IpAddr = next
                    .and_then(|m| m.parse().ok())
                    .unwrap_or_else(|| panic!("pg_hba line `{line}`: no mask after `{field}`"));
                let bits = match mask {
                    IpAddr::V4(m) => u32::from(m).count_ones(),
                    IpAddr::V6(m) => u128::from(m).count_ones(),
                };
                (in_network(from, network, bits), 5)
            } else {
                panic!("pg_hba line `{line}`: host name `{field}` is not read here")
            }
        }
    }
}

/// Whether `from` is in `network`/`bits` (an IPv4 network never holds an IPv6 client).
fn in_network(from: IpAddr, network: IpAddr, bits: u32) -> bool {
    match (from, network) {
        (IpAddr::V4(from), IpAddr::V4(network)) => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(from) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(from), IpAddr::V6(network)) => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(from) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}
