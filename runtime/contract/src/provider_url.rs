//! Which URLs of a sign-in provider (its issuer, its endpoints) auth talks to: they are trusted
//! with authorization codes and client secrets. The generator refuses the config's issuer by the
//! same rule, at its place in the config, rather than auth at start.

/// https, or http on the loopback interface (a provider run next to auth, as in tests). Judged
/// on the parsed URL: `http://localhost:@host` is plain http to `host`.
pub fn allowed_provider_url(url: &url::Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => match url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(address)) => address.is_loopback(),
            Some(url::Host::Ipv6(address)) => address.is_loopback(),
            None => false,
        },
        _ => false,
    }
}
