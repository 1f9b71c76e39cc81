//! What a project fresh from `stackr init` makes cargo compile: few crates, and dependencies
//! built without debug info, so the first build and every rebuild stay short. (The times
//! themselves are measured by `cargo bench -p stackr --bench first_day`.)

use crate::common;

use common::crate_graph::compiled_packages;
use common::init_project;
use common::local_build::repo_root;

/// Crates (name and version, the project's own included) `cargo build` compiles for auth and two
/// base services. The graph had 263 with ICU4X behind `url`; 244 without it, 245 with the
/// runtime's own TLS crate (`stackr-tls`; rustls itself was already there), 247 with the
/// workers' allocator (`mimalloc` and the crate that builds its C source), 249 with Unicode's
/// script and look-alike data for auth's dashboard (`unicode-script`, `unicode-security`).
const CRATE_BUDGET: usize = 249;

#[test]
fn a_fresh_three_service_project_compiles_few_crates_and_no_icu4x() {
    let (_parent, root) = init_project(&["--with-services", "core,wallet"]);
    let packages = compiled_packages(&root);
    let icu: Vec<&String> = packages.iter().filter(|p| p.starts_with("icu_")).collect();
    assert!(
        icu.is_empty(),
        "url's IDNA back end is ICU4X again ({icu:?}); the runtime pins idna_adapter to unicode-rs"
    );
    assert!(
        packages.len() <= CRATE_BUDGET,
        "{} crates to compile, budget {CRATE_BUDGET}:\n{}",
        packages.len(),
        packages.iter().cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn a_fresh_project_builds_dependencies_without_debug_info_and_hashing_optimized() {
    let (_parent, root) = init_project(&[]);
    let text = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let manifest: toml_edit::DocumentMut = text.parse().unwrap();
    let dev = &manifest["profile"]["dev"];
    assert_eq!(dev["debug"].as_str(), Some("line-tables-only"), "{text}");
    assert_eq!(
        dev["package"]["*"]["debug"].as_bool(),
        Some(false),
        "{text}"
    );

    // The crates the stackr workspace optimizes in debug builds (password hashing), optimized the
    // same way in the project: unoptimized, one sign-in takes seconds.
    let ours: toml_edit::DocumentMut = std::fs::read_to_string(repo_root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let optimized = ours["profile"]["dev"]["package"].as_table().unwrap();
    assert!(!optimized.is_empty());
    // `package."*"` holds the dependencies' debug setting, not an optimization.
    for (name, settings) in optimized
        .iter()
        .filter(|(_, s)| s.get("opt-level").is_some())
    {
        assert_eq!(
            dev["package"][name]["opt-level"].as_integer(),
            settings["opt-level"].as_integer(),
            "{name}: {text}"
        );
    }
}
