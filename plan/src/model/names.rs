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

/// Role names PostgreSQL refuses to create, even double-quoted: `none` (and `public`, already
/// in [`RESERVED_NAMES`]) and every name starting with `pg_`. A service's role is its name with
/// `-` mapped to `_`, so `pg-sync` would be the role `pg_sync`.
const POSTGRES_RESERVED_ROLES: &[&str] = &["none"];
const POSTGRES_RESERVED_ROLE_PREFIX: &str = "pg-";

/// `Ok` if `name` may name a service: a [`check_name`] name short enough for the system users a
/// NixOS host runs it as, and one PostgreSQL accepts as the name of the service's role.
pub fn check_service_name(name: &str) -> Result<(), String> {
    check_name(name)?;
    if POSTGRES_RESERVED_ROLES.contains(&name) || name.starts_with(POSTGRES_RESERVED_ROLE_PREFIX) {
        let role = name.replace('-', "_");
        return Err(format!(
            "`{name}` would be the PostgreSQL role `{role}`, a name PostgreSQL reserves (`none`, and every name starting with `pg_`): creating the service's database would fail"
        ));
    }
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
    fn a_service_name_is_never_a_role_postgresql_refuses_to_create() {
        // `CREATE ROLE "none"` and `CREATE ROLE "pg_sync"` fail even quoted (PostgreSQL 15:
        // "role name ... is reserved"), so the service's database set-up would fail on every
        // start, in dev and on a NixOS host.
        for bad in ["none", "pg-sync", "pg-stat-reader"] {
            let why = check_service_name(bad).unwrap_err();
            assert!(why.contains("PostgreSQL"), "{bad}: {why}");
        }
        // Only the `pg_` prefix is reserved: `pg` and `pgadmin` are role names like any other.
        for ok in ["pg", "pgadmin", "nonesuch", "pg1"] {
            assert_eq!(check_service_name(ok), Ok(()), "{ok}");
        }
        // A host or project name is no role.
        assert_eq!(check_name("pg-sync"), Ok(()));
    }

    #[test]
    fn a_long_name_is_quoted_only_up_to_the_limit() {
        let long = format!("A{}", "a".repeat(100_000));
        let why = check_name(&long).unwrap_err();
        assert!(why.len() < 200, "{} bytes: {}", why.len(), &why[..200]);
        assert!(why.contains("100001 characters"), "{why}");
    }
}
