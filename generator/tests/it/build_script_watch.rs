//! The generator's build script embeds the runtime crates and tells cargo which paths to watch
//! for changes. A watched path that does not exist counts as changed on every build: `stackr`
//! would be compiled again, and every binary depending on it relinked, by each `cargo build`,
//! under processes running those binaries.

use std::path::Path;

#[allow(dead_code)]
#[path = "../../build.rs"]
mod build_script;

#[test]
fn every_path_the_build_script_watches_exists_and_covers_what_it_embeds() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let watched = build_script::watched(repo);
    for path in &watched {
        assert!(path.exists(), "watched but missing: {}", path.display());
    }
    for (relative, absolute) in build_script::embedded(repo) {
        assert!(
            watched.iter().any(|w| Path::new(&absolute).starts_with(w)),
            "runtime/{relative} is embedded but no watched path covers it"
        );
    }
    for name in build_script::CRATES {
        let migrations = repo.join("runtime").join(name).join("migrations");
        if !migrations.exists() {
            assert!(
                watched.iter().any(|w| migrations.starts_with(w)),
                "runtime/{name} would not notice a migrations folder appearing"
            );
        }
    }
}

/// Only the library's own files are embedded: what an editor or a merge leaves beside them
/// would be written into every generated project.
#[test]
fn editor_and_merge_leftovers_beside_the_sources_are_not_embedded() {
    let repo = tempfile::tempdir().unwrap();
    let src = repo.path().join("runtime/kit/src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("lib.rs"), "pub fn kept() {}\n").unwrap();
    for leftover in [
        ".lib.rs.swp",
        "lib.rs~",
        "#lib.rs#",
        "lib.rs.orig",
        "lib.rs.rej",
    ] {
        std::fs::write(src.join(leftover), [0xff, 0xfe, 0x00]).unwrap();
    }
    let embedded: Vec<String> = build_script::embedded(repo.path())
        .into_iter()
        .map(|(relative, _)| relative)
        .collect();
    assert_eq!(embedded, ["kit/src/lib.rs"]);
}
