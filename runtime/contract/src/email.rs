//! What counts as an email address: auth takes one at sign-up and when an admin sets it, and
//! `stackr set-role` refuses one no user could have before it builds auth's binary.

/// A pragmatic email check (one `@`, non-empty local part, dotted domain, no spaces); the real
/// proof of an address is the verification mail.
pub fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::looks_like_email;

    #[test]
    fn emails() {
        assert!(looks_like_email("alice@example.com"));
        assert!(!looks_like_email("alice@example"));
        assert!(!looks_like_email("alice example@x.com"));
    }
}
