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

/// The longest user or group name NixOS accepts (its users module refuses 32 characters or more).
const LONGEST_SYSTEM_USER: usize = 31;
/// The longest service name: a deployed service's PostgreSQL runs as the system user
/// `stackr-<name>-pg` (the modules' `postgresUser`), the longest name made from it.
pub const MAX_SERVICE_NAME_LEN: usize = LONGEST_SYSTEM_USER - "stackr-".len() - "-pg".len();

/// `Ok` if `name` may name a service: a [`check_name`] name short enough for the system users a
/// NixOS host runs it as.
pub fn check_service_name(name: &str) -> Result<(), String> {
    check_name(name)?;
    let length = name.chars().count();
    if length > MAX_SERVICE_NAME_LEN {
        return Err(format!(
            "`{name}` has {length} characters, more than the {MAX_SERVICE_NAME_LEN} a service name may have: a deployed service runs as the system user `stackr-{name}-pg`, and NixOS refuses user names of more than {LONGEST_SYSTEM_USER} characters"
        ));
    }
    Ok(())
}

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
    use super::*;

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
    fn a_service_name_fits_the_system_users_it_becomes() {
        let longest = "a".repeat(MAX_SERVICE_NAME_LEN);
        assert_eq!(check_service_name(&longest), Ok(()));
        assert_eq!(format!("stackr-{longest}-pg").len(), 31);
        let why = check_service_name(&format!("{longest}b")).unwrap_err();
        assert!(
            why.contains("more than the 21") && why.contains("NixOS"),
            "{why}"
        );
        assert!(check_service_name("Core").is_err());
        // A project name is not a system user.
        assert_eq!(check_name(&format!("{longest}b")), Ok(()));
    }

    #[test]
    fn a_long_name_is_quoted_only_up_to_the_limit() {
        let long = format!("A{}", "a".repeat(100_000));
        let why = check_name(&long).unwrap_err();
        assert!(why.len() < 200, "{} bytes: {}", why.len(), &why[..200]);
        assert!(why.contains("100001 characters"), "{why}");
    }
}
