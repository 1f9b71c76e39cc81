//! Which header names claim to carry an identity (`x-user-id`, `x-forwarded-user`,
//! `x-auth-user-email`, …). Any client can send them, so only the auth service's answer to the
//! forwarded cookie may establish who the caller is.

/// Qualifiers proxies and gateways put before the subject (`x-forwarded-user`, `remote-user`).
const QUALIFIERS: [&str; 9] = [
    "forwarded-",
    "auth-",
    "authenticated-",
    "remote-",
    "original-",
    "verified-",
    "stackr-",
    "end-",
    "proxy-",
];

/// `true` for header names that claim to say who the caller is.
pub fn is_identity_header(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase().replace('_', "-");
    let (rest, had_x) = match name.strip_prefix("x-") {
        Some(rest) => (rest, true),
        None => (name.as_str(), false),
    };
    let (subject, qualified) = match QUALIFIERS.iter().find_map(|q| rest.strip_prefix(q)) {
        Some(subject) => (subject, true),
        None => (rest, false),
    };
    let about_user = subject == "user"
        || subject == "userid"
        || (subject.starts_with("user-") && subject != "user-agent");
    // Without an `x-` or a qualifier only user-ish names count: a bare `email` or `role` header
    // is not a convention anyone uses for identity, but `user-id` is.
    about_user
        || ((had_x || qualified)
            && matches!(
                subject,
                "uid" | "email" | "role" | "roles" | "principal" | "identity" | "sub" | "subject"
            ))
}

/// `XForwardedUser` → `x-forwarded-user`: the header a typed-header struct presumably stands for.
pub fn kebab_case(camel: &str) -> String {
    let mut kebab = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            kebab.push('-');
        }
        kebab.extend(c.to_lowercase());
    }
    kebab
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_headers_are_recognised() {
        for name in [
            "x-user-id",
            "X-User-Id",
            "x-user",
            "x-userid",
            "x-user-email",
            "x-user-roles",
            "x-forwarded-user",
            "x-forwarded-email",
            "x-auth-user",
            "x-auth-user-id",
            "remote-user",
            "x-remote-user",
            "x_user_id",
            "user-id",
            "x-authenticated-userid",
        ] {
            assert!(is_identity_header(name), "{name}");
        }
    }

    #[test]
    fn ordinary_headers_are_not() {
        for name in [
            "user-agent",
            "x-user-agent",
            "cookie",
            "authorization",
            "x-device-session-token",
            "x-stackr-service",
            "x-forwarded-for",
            "x-request-id",
            "email",
            "content-type",
        ] {
            assert!(!is_identity_header(name), "{name}");
        }
    }

    #[test]
    fn type_names_become_header_names() {
        assert_eq!(kebab_case("XForwardedUser"), "x-forwarded-user");
        assert!(is_identity_header(&kebab_case("UserId")));
        assert!(!is_identity_header(&kebab_case("UserAgent")));
    }
}
