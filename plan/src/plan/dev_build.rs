//! The dev stack's `build` process: one `cargo build` before the APIs and workers start. A full
//! run builds the workspace; `stackr dev --only` builds only the crates of the services it
//! starts, so a service left out that does not compile does not stop it. The cost: cargo
//! resolves dependency features for the packages named only, so the first `--only` build after
//! a full one may compile shared dependencies again, in another feature set (cargo keeps both
//! builds, so once).

/// The variable `stackr dev --only` sets, in every process's environment, to the `-p <package>`
/// arguments of the services it starts.
pub const PACKAGES_VAR: &str = "STACKR_DEV_BUILD_PACKAGES";

/// What `build` passes cargo to choose the crates (a shell expansion of [`PACKAGES_VAR`]).
pub fn packages_argument() -> String {
    format!("${{{PACKAGES_VAR}:---workspace}}")
}

/// The value of [`PACKAGES_VAR`] that builds `packages`.
pub fn packages_value<'a>(packages: impl IntoIterator<Item = &'a str>) -> String {
    packages
        .into_iter()
        .map(|package| format!("-p {package}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subset_names_its_packages_and_the_default_is_the_workspace() {
        assert_eq!(
            packages_value(["auth-service", "core-service"]),
            "-p auth-service -p core-service"
        );
        assert_eq!(
            packages_argument(),
            "${STACKR_DEV_BUILD_PACKAGES:---workspace}"
        );
    }
}
