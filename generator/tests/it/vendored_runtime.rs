//! The runtime crates a project builds from: `init` vendors those of the running stackr into
//! `stackr-runtime/` as managed files (drift-checked, restored by `generate`), `generate` points
//! the existing services at whatever runtime the config names, and `upgrade` moves a project to
//! the running stackr's runtime.

use crate::common;

use std::path::Path;

use common::{init_project, set_runtime, stackr, stderr, stdout, tree};
use stackr::runtime_sources::VERSION;

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// The dependency line of `name` in a service's Cargo.toml.
fn dependency_line(root: &Path, service: &str, name: &str) -> String {
    read(root, &format!("services/{service}/Cargo.toml"))
        .lines()
        .find(|line| line.starts_with(&format!("{name} =")))
        .unwrap_or_else(|| panic!("services/{service} has no {name}"))
        .to_owned()
}

#[test]
fn init_vendors_the_runtime_as_managed_files() {
    let (_parent, root) = init_project(&[]);
    let config = read(&root, "stackr.config.json");
    assert!(
        config.contains(&format!("\"vendored\": \"{VERSION}\"")),
        "{config}"
    );
    for path in [
        "auth/Cargo.toml",
        "auth/src/lib.rs",
        "kit/Cargo.toml",
        "kit/src/lib.rs",
    ] {
        assert!(
            root.join("stackr-runtime").join(path).is_file(),
            "missing stackr-runtime/{path}"
        );
    }
    assert_eq!(
        read(&root, "stackr-runtime/kit/src/lib.rs"),
        read(common::local_build::repo_root(), "runtime/kit/src/lib.rs"),
        "sources are the ones stackr was built with"
    );
    assert_eq!(
        dependency_line(&root, "core", "stackr-kit"),
        "stackr-kit = { path = \"../../stackr-runtime/kit\" }"
    );
    assert_eq!(
        dependency_line(&root, "auth", "stackr-auth"),
        "stackr-auth = { path = \"../../stackr-runtime/auth\" }"
    );

    // An edit and a deletion in the vendored folder are drift, like in any generated file.
    let lib = root.join("stackr-runtime/kit/src/lib.rs");
    std::fs::write(
        &lib,
        read(&root, "stackr-runtime/kit/src/lib.rs") + "// edited\n",
    )
    .unwrap();
    std::fs::remove_file(root.join("stackr-runtime/auth/migrations/0001_betterauth_core.sql"))
        .unwrap();
    let before = tree(&root);
    let check = stackr(&root, &["generate", "--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let message = stderr(&check);
    assert!(
        message.contains("modified: stackr-runtime/kit/src/lib.rs"),
        "{message}"
    );
    assert!(
        message.contains("missing:  stackr-runtime/auth/migrations/0001_betterauth_core.sql"),
        "{message}"
    );
    assert!(
        stdout(&check).contains("+++ b/stackr-runtime/kit/src/lib.rs"),
        "{}",
        stdout(&check)
    );
    assert_eq!(tree(&root), before, "--check writes nothing");

    let generate = stackr(&root, &["generate"]);
    assert!(generate.status.success(), "{}", stderr(&generate));
    let check = stackr(&root, &["generate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn generate_points_existing_services_at_the_configured_runtime() {
    let (_parent, root) = init_project(&[]);
    // A feature the user added stays when the source changes.
    let core = read(&root, "services/core/Cargo.toml").replace(
        "stackr-kit = { path = \"../../stackr-runtime/kit\" }",
        "stackr-kit = { path = \"../../stackr-runtime/kit\", features = [\"extra\"] }",
    );
    std::fs::write(root.join("services/core/Cargo.toml"), core).unwrap();

    set_runtime(&root, serde_json::json!({ "version": "=9.9.9" }));
    let check = stackr(&root, &["generate", "--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    for path in ["services/auth/Cargo.toml", "services/core/Cargo.toml"] {
        assert!(
            stderr(&check).contains(&format!("modified: {path}")),
            "{}",
            stderr(&check)
        );
    }
    let generate = stackr(&root, &["generate"]);
    assert!(generate.status.success(), "{}", stderr(&generate));
    assert_eq!(
        dependency_line(&root, "auth", "stackr-auth"),
        "stackr-auth = \"=9.9.9\""
    );
    let kit = dependency_line(&root, "core", "stackr-kit");
    assert!(
        kit.contains("features = [\"extra\"]")
            && kit.contains("version = \"=9.9.9\"")
            && !kit.contains("path"),
        "{kit}"
    );

    set_runtime(
        &root,
        serde_json::json!({ "git": "https://example.invalid/stackr.git", "rev": "0123abc" }),
    );
    assert!(stackr(&root, &["generate"]).status.success());
    assert_eq!(
        dependency_line(&root, "auth", "stackr-auth"),
        "stackr-auth = { git = \"https://example.invalid/stackr.git\", rev = \"0123abc\" }"
    );

    set_runtime(&root, serde_json::json!({ "path": "vendor/stackr" }));
    assert!(stackr(&root, &["generate"]).status.success());
    assert_eq!(
        dependency_line(&root, "auth", "stackr-auth"),
        "stackr-auth = { path = \"../../vendor/stackr/auth\" }"
    );
    let check = stackr(&root, &["generate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn generate_refuses_a_project_on_another_stackrs_runtime() {
    let (_parent, root) = init_project(&[]);
    set_runtime(&root, serde_json::json!({ "vendored": "0.0.1" }));
    let before = tree(&root);
    for args in [&["generate"][..], &["generate", "--check"]] {
        let output = stackr(&root, args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        let message = stderr(&output);
        assert!(
            message.contains("stackr 0.0.1")
                && message.contains(&format!("this is stackr {VERSION}")),
            "{message}"
        );
        assert!(message.contains("stackr upgrade"), "{message}");
    }
    assert_eq!(tree(&root), before, "nothing is written");
}

#[test]
fn upgrade_moves_a_project_to_this_stackrs_runtime() {
    let (_parent, root) = init_project(&[]);
    // A project of an older stackr: another vendored version, whose crates differ from ours.
    set_runtime(&root, serde_json::json!({ "vendored": "0.0.1" }));
    let lib = root.join("stackr-runtime/auth/src/lib.rs");
    std::fs::write(&lib, "// the runtime of stackr 0.0.1\n").unwrap();
    std::fs::write(
        root.join("stackr-runtime/auth/src/gone.rs"),
        "// only in 0.0.1\n",
    )
    .unwrap();

    let upgrade = stackr(&root, &["upgrade"]);
    assert!(upgrade.status.success(), "{}", stderr(&upgrade));
    assert!(
        stderr(&upgrade).contains("delete them:\n  stackr-runtime/auth/src/gone.rs"),
        "a file of the old runtime is named: {}",
        stderr(&upgrade)
    );
    let said = stdout(&upgrade);
    assert!(
        said.contains("of stackr 0.0.1") && said.contains(&format!("stackr {VERSION}")),
        "{said}"
    );
    assert!(said.contains("stackr-runtime/auth/src/lib.rs"), "{said}");
    assert!(read(&root, "stackr.config.json").contains(&format!("\"vendored\": \"{VERSION}\"")));
    assert_eq!(
        read(&root, "stackr-runtime/auth/src/lib.rs"),
        read(common::local_build::repo_root(), "runtime/auth/src/lib.rs")
    );
    let check = stackr(&root, &["generate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));

    let again = stackr(&root, &["upgrade"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("nothing to do"),
        "{}",
        stdout(&again)
    );
}

/// What `stackr init` wrote before it vendored the runtime (a registry version that was never
/// published): `upgrade` moves such a project to the vendored runtime.
#[test]
fn upgrade_moves_a_registry_runtime_to_the_vendored_one() {
    let (_parent, root) = init_project(&[]);
    set_runtime(
        &root,
        serde_json::json!({ "version": format!("={VERSION}") }),
    );
    assert!(stackr(&root, &["generate"]).status.success());
    std::fs::remove_dir_all(root.join("stackr-runtime")).unwrap();
    assert_eq!(
        dependency_line(&root, "core", "stackr-kit"),
        format!("stackr-kit = \"={VERSION}\"")
    );

    let upgrade = stackr(&root, &["upgrade"]);
    assert!(upgrade.status.success(), "{}", stderr(&upgrade));
    assert_eq!(
        dependency_line(&root, "core", "stackr-kit"),
        "stackr-kit = { path = \"../../stackr-runtime/kit\" }"
    );
    assert!(root.join("stackr-runtime/kit/src/lib.rs").is_file());
    let check = stackr(&root, &["generate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn upgrade_refuses_while_managed_files_drift() {
    let (_parent, root) = init_project(&[]);
    set_runtime(&root, serde_json::json!({ "vendored": "0.0.1" }));
    std::fs::write(root.join("nix/stackr.nix"), "# edited by hand\n").unwrap();
    let before = tree(&root);
    let refused = stackr(&root, &["upgrade"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let message = stderr(&refused);
    assert!(message.contains("modified: nix/stackr.nix"), "{message}");
    assert!(
        message.contains("generate --check") && message.contains("--force"),
        "{message}"
    );
    assert_eq!(tree(&root), before, "a refused upgrade writes nothing");

    let forced = stackr(&root, &["upgrade", "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    let check = stackr(&root, &["generate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn upgrade_help_explains_what_it_does() {
    let dir = tempfile::tempdir().unwrap();
    let help = stackr(dir.path(), &["upgrade", "--help"]);
    assert!(help.status.success(), "{}", stderr(&help));
    let text = stdout(&help);
    for needle in [
        "stackr-runtime/",
        "runtime.vendored",
        "Refuses",
        "--force",
        "generate --check",
        "stackr.generated",
        "git diff",
    ] {
        assert!(text.contains(needle), "`{needle}` not explained:\n{text}");
    }
}

/// The config is the user's: `upgrade` changes its `runtime` and nothing else of it, and leaves it
/// alone when it already means this stackr's runtime (no `runtime` at all).
#[test]
fn upgrade_edits_only_the_runtime_of_the_users_config() {
    let (_parent, root) = init_project(&[]);
    let mine = r#"{
    "name": "shop",
    "services": [
        { "name": "auth", "kind": "auth", "port": 8888, "adminPort": 3333 },
        { "name": "core", "port": 8080, "authMiddleware": "standard" }
    ]
}
"#;
    std::fs::write(root.join("stackr.config.json"), mine).unwrap();
    let upgrade = stackr(&root, &["upgrade"]);
    assert!(upgrade.status.success(), "{}", stderr(&upgrade));
    assert!(
        stdout(&upgrade).contains("nothing to do"),
        "{}",
        stdout(&upgrade)
    );
    assert_eq!(read(&root, "stackr.config.json"), mine);

    let older = format!(
        "{{\n    \"name\": \"shop\",\n    \"runtime\": {{\n        \"version\": \"={VERSION}\"\n    }},\n    \"services\": [\n        {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n        {{ \"name\": \"core\" }}\n    ]\n}}\n"
    );
    std::fs::write(root.join("stackr.config.json"), &older).unwrap();
    assert!(stackr(&root, &["generate"]).status.success());
    let upgrade = stackr(&root, &["upgrade"]);
    assert!(upgrade.status.success(), "{}", stderr(&upgrade));
    assert_eq!(
        read(&root, "stackr.config.json"),
        older.replace(
            &format!("\"version\": \"={VERSION}\""),
            &format!("\"vendored\": \"{VERSION}\"")
        )
    );
    let check = stackr(&root, &["generate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));
}
