//! The runtime crates (`stackr-auth`, `stackr-kit`, `stackr-contract`, `stackr-tls`) this stackr binary was built with, embedded by
//! `build.rs`: a project whose config says `"runtime": { "vendored": VERSION }` gets them written
//! into [`VENDORED_DIR`] as managed files, so it builds with nothing but the package registries.

mod manifest;

use anyhow::Result;

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

#[cfg(test)]
mod tests {
    use super::*;

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
