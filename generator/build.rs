//! Embeds the libraries of the runtime crates (`runtime/auth`, `runtime/kit`, `runtime/contract`, `runtime/tls`)
//! into the stackr binary, with the workspace manifest they inherit from: `stackr init` and `generate` write them
//! into a project, so the project builds without this repository and without unpublished crates.
//! Only what the library needs is embedded: the manifest, `src/` without binaries, `migrations/`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The runtime crates, as folders of `runtime/`.
pub(crate) const CRATES: &[&str] = &["auth", "kit", "contract", "tls"];
/// What of each crate is embedded (folders are taken whole, minus [`BINARIES`]).
const PARTS: &[&str] = &["Cargo.toml", "src", "migrations"];
/// Binary targets: tools and test fixtures of the repository, not part of the library.
const BINARIES: &[&str] = &["src/main.rs", "src/bin"];

fn main() {
    let generator = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let repo = generator.parent().unwrap();
    for path in watched(repo) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let workspace_manifest = repo.join("Cargo.toml");
    let mut code = String::new();
    writeln!(
        code,
        "/// The root `Cargo.toml` of the repository the runtime crates inherit settings from.\npub const WORKSPACE_MANIFEST: &str = include_str!({:?});",
        workspace_manifest.display().to_string()
    )
    .unwrap();
    code.push_str("/// Each embedded file: path below `runtime/` and content.\npub const FILES: &[(&str, &str)] = &[\n");
    for (relative, absolute) in &embedded(repo) {
        writeln!(code, "    ({relative:?}, include_str!({absolute:?})),").unwrap();
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("embedded_runtime.rs");
    std::fs::write(out, code).unwrap();
}

/// What cargo watches: the workspace manifest and each crate's parts. A part a crate does not
/// have is watched through the crate's folder, so that it is noticed when it appears: cargo
/// takes a watched path that does not exist for changed, on every build.
pub(crate) fn watched(repo: &Path) -> Vec<PathBuf> {
    let mut paths = vec![repo.join("Cargo.toml")];
    for name in CRATES {
        let dir = repo.join("runtime").join(name);
        let parts: Vec<PathBuf> = PARTS.iter().map(|part| dir.join(part)).collect();
        if parts.iter().all(|part| part.exists()) {
            paths.extend(parts);
        } else {
            paths.push(dir);
        }
    }
    paths
}

/// Every embedded file, as (path below `runtime/`, absolute path), sorted.
pub(crate) fn embedded(repo: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for name in CRATES {
        let dir = repo.join("runtime").join(name);
        for part in PARTS {
            collect(&dir, &dir.join(part), &mut files);
        }
    }
    files.sort();
    files
}

/// Adds `path` (a file, or every file below a folder) as (path below `runtime/`, absolute path).
fn collect(crate_dir: &Path, path: &Path, files: &mut Vec<(String, String)>) {
    let below_crate = path.strip_prefix(crate_dir).unwrap();
    if BINARIES
        .iter()
        .any(|binary| below_crate == Path::new(binary))
    {
        return;
    }
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            collect(crate_dir, &entry.unwrap().path(), files);
        }
    } else if path.is_file() && !editor_leftover(path) {
        let runtime_dir = crate_dir.parent().unwrap();
        let relative = path.strip_prefix(runtime_dir).unwrap();
        files.push((
            relative.to_str().unwrap().to_owned(),
            path.to_str().unwrap().to_owned(),
        ));
    }
}

/// Files an editor, a merge or a patch leaves beside the sources (`.lib.rs.swp`, `lib.rs~`,
/// `#lib.rs#`, `lib.rs.orig`, `lib.rs.rej`): not the library's, so not written into projects, and
/// a binary one would stop `include_str!` from compiling.
fn editor_leftover(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || [".orig", ".rej", ".bak"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}
