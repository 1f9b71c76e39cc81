//! Auth's `baseUrl`: one plain http(s) URL. Its origin is one of the browser origins every base
//! service trusts (`TRUSTED_ORIGINS`, a comma-separated list of origins and wildcard patterns),
//! and the whole URL reaches systemd's `Environment=` on NixOS.

/// Why `url` is not a base URL, or `Ok` when it is: parsed as a URL, http or https, with a host
/// and without `*` (a pattern), `,` (a second list entry), `%` (a systemd specifier, an escape
/// that changes what the URL says), credentials, query or fragment.
pub(super) fn check(url: &str) -> Result<(), String> {
    // As the NixOS module's `plainUrlPattern` (modules/lib.nix) takes them.
    if let Some(c) = url
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._~:/[]!$&'()+;=@".contains(*c)))
    {
        return Err(format!(
            "{c:?} has no place in it (letters, digits and `-._~:/[]!$&'()+;=@` only; an international host is written in its `xn--` form)"
        ));
    }
    let parsed = url::Url::parse(url).map_err(|error| format!("it is not a URL ({error})"))?;
    if !["http", "https"].contains(&parsed.scheme()) {
        return Err("it is not an http or https URL".to_owned());
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("it names no host".to_owned());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("it carries a user name or password".to_owned());
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("it has a query (`?`) or fragment (`#`)".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn base_urls_are_plain_http_urls() {
        for good in [
            "https://auth.example.com",
            "http://localhost:8888",
            "https://example.com/auth/",
            "http://[::1]:8888",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for bad in [
            "https://*",
            "https://*.example.com",
            "https://a.example,https://b.example",
            "https://a.example/%7E",
            "https://user@a.example",
            "https://:pw@a.example",
            "https://a.example/?x",
            "https://a.example/#x",
            "https://a.example/\u{7f}",
            "https://bücher.example",
            "https://a.example/{x}",
            " https://a.example",
            "https:\\\\a.example",
            "ftp://a.example",
            "https://",
            "a.example",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
