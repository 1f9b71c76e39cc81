//! The runtime crates (`stackr-auth`, `stackr-kit`, `stackr-contract`, `stackr-tls`) this stackr binary was built with, embedded by
//! `build.rs`: a project whose config says `"runtime": { "vendored": VERSION }` gets them written
//! into [`VENDORED_DIR`] as managed files, so it builds with nothing but the package registries.

mod manifest;

use anyhow::{Context, Result};

use crate::render::RenderedFile;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_runtime.rs"));
}

pub use stackr_plan::layout::{AUTH_CRATE_DIR, KIT_CRATE_DIR, VENDORED_DIR, VERSION};

const README: &str = "# Runtime crates of stackr {version}\n\nManaged by stackr: `stackr-auth` (auth/), `stackr-kit` (kit/) and the `stackr-contract` and `stackr-tls` they share
(contract/, tls/), exactly as the stackr binary\nthat wrote them was built with, so this project builds with nothing but the package registries.\n`stackr generate` rewrites this folder and `stackr generate --check` reports any edit; `stackr\nupgrade` moves it to the runtime of a newer stackr. The services depend on these crates by path.\n";

/// Every file of the vendored runtime, with paths relative to the project root. Manifests are
/// made standalone (see `manifest::standalone`); sources are written byte for byte.
pub fn vendored_files() -> Result<Vec<RenderedFile>> {
    let mut files = vec![RenderedFile::new(
        format!("{VENDORED_DIR}/README.md"),
        README.replace("{version}", VERSION),
    )];
    for (path, content) in embedded::FILES {
        let content = if path.ends_with("/Cargo.toml") {
            manifest::standalone(content, embedded::WORKSPACE_MANIFEST, VERSION)?
        } else {
            (*content).to_owned()
        };
        files.push(RenderedFile::new(format!("{VENDORED_DIR}/{path}"), content));
    }
    Ok(files)
}

/// The crates the stackr workspace's `[profile.dev.package.NAME]` tables optimize in debug builds,
/// with their `opt-level` (password hashing: unoptimized, one sign-in takes seconds). A project
/// gets the same tables, so its debug-built auth signs users in as fast as this repository's.
pub fn optimized_dev_packages() -> Result<Vec<(String, i64)>> {
    let root: toml_edit::DocumentMut = embedded::WORKSPACE_MANIFEST
        .parse()
        .context("the workspace Cargo.toml")?;
    let Some(packages) = root
        .get("profile")
        .and_then(|p| p.get("dev"))
        .and_then(|d| d.get("package"))
        .and_then(toml_edit::Item::as_table_like)
    else {
        return Ok(Vec::new());
    };
    Ok(packages
        .iter()
        .filter_map(|(name, settings)| {
            let level = settings.get("opt-level")?.as_integer()?;
            Some((name.to_owned(), level))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_optimized_packages_of_the_workspace_profile() {
        let packages = optimized_dev_packages().unwrap();
        assert!(packages.contains(&("argon2".to_owned(), 3)), "{packages:?}");
    }

    #[test]
    fn embeds_both_libraries_without_binaries_or_tests() {
        let files = vendored_files().unwrap();
        let has = |path: &str| {
            files
                .iter()
                .any(|f| f.path == format!("{VENDORED_DIR}/{path}"))
        };
        for path in [
            "auth/Cargo.toml",
            "auth/src/lib.rs",
            "auth/migrations/0001_betterauth_core.sql",
            "kit/Cargo.toml",
            "kit/src/lib.rs",
            "kit/migrations/0001_stackr_user.sql",
            "contract/Cargo.toml",
            "contract/src/lib.rs",
            "tls/Cargo.toml",
            "tls/src/lib.rs",
        ] {
            assert!(has(path), "{path} is not vendored");
        }
        for path in ["auth/src/main.rs", "kit/src/bin/worker_test_fixture.rs"] {
            assert!(!has(path), "{path} is a binary, not part of the library");
        }
        assert!(!files
            .iter()
            .any(|f| f.path.contains("/tests/") || f.path.contains("/benches/")));
    }
}
