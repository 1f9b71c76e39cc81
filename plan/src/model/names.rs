//! Service and project name rules. A name becomes a Nix attribute, a systemd unit, a Cargo package
//! (`<name>-service`), a PostgreSQL role and database (`-` → `_`) and an env prefix, so it must be
//! valid as all of them.

/// Names that would clash with system users, PostgreSQL built-ins (including pg_hba keywords,
/// since database names appear in pg_hba lines) or stackr's own processes.
pub const RESERVED_NAMES: &[&str] = &[
    "stackr",
    "postgres",
    "postgresql",
    "redis",
    "root",
    "template0",
    "template1",
    "public",
    "build",
    "secrets",
    "all",
    "sameuser",
    "samerole",
    "replication",
    "default",
    "nix",
    "target",
];

/// Longest accepted name; keeps unit names and PostgreSQL identifiers (max 63) comfortable.
pub const MAX_NAME_LEN: usize = 40;

/// `Ok` if `name` may name a service or project, else a sentence saying why not. The length is
/// checked first, so that the other sentences quote a name of at most `MAX_NAME_LEN` characters.
pub fn check_name(name: &str) -> Result<(), String> {
    let length = name.chars().count();
    if length > MAX_NAME_LEN {
        let start: String = name.chars().take(MAX_NAME_LEN).collect();
        return Err(format!(
            "`{start}…` has {length} characters, more than the {MAX_NAME_LEN} allowed"
        ));
    }
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("the name is empty".to_owned()),
        Some(c) if !c.is_ascii_lowercase() => {
            return Err(format!("`{name}` must start with a lowercase letter a-z"))
        }
        _ => {}
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "`{name}` contains `{bad}`; only a-z, 0-9 and `-` are allowed"
        ));
    }
    if name.ends_with('-') || name.contains("--") {
        return Err(format!("`{name}` must not end with `-` or contain `--`"));
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(format!(
            "`{name}` is reserved (reserved names: {})",
            RESERVED_NAMES.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn accepts_simple_names() {
        for ok in ["core", "wallet", "my-svc", "a1"] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_names() {
        for bad in [
            "",
            "Core",
            "1core",
            "my_svc",
            "core-",
            "a--b",
            "postgres",
            "build",
            "replication",
            "x.y",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_long_name_is_quoted_only_up_to_the_limit() {
        let long = format!("A{}", "a".repeat(100_000));
        let why = check_name(&long).unwrap_err();
        assert!(why.len() < 200, "{} bytes: {}", why.len(), &why[..200]);
        assert!(why.contains("100001 characters"), "{why}");
    }
}
