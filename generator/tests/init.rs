//! `stackr init`: a complete project whose generated files are up to date.

mod common;

use common::{init_project, stackr, stderr, stdout};

#[test]
fn creates_a_complete_project() {
    let (_parent, root) = init_project(&["--with-services", "orders,billing"]);
    for path in [
        "stackr.config.json",
        "stackr.schema.json",
        "flake.nix",
        "Cargo.toml",
        ".gitignore",
        "AGENTS.md",
        "process-compose.yaml",
        "nix/stackr.nix",
        "nix/packages.nix",
        "nix/vm-test.nix",
        "nix/dev.nix",
        "services/auth/Cargo.toml",
        "services/auth/src/main.rs",
        "services/orders/Cargo.toml",
        "services/orders/src/main.rs",
        "services/orders/src/domain/mod.rs",
        "services/orders/migrations/0001_init.sql",
        "services/orders/src/bin/worker.rs",
        "services/billing/Cargo.toml",
    ] {
        assert!(root.join(path).is_file(), "missing {path}");
    }
    let config = std::fs::read_to_string(root.join("stackr.config.json")).unwrap();
    assert!(config.contains("\"$schema\": \"./stackr.schema.json\""));
    let gitignore = std::fs::read_to_string(root.join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l == "/.stackr/"), "{gitignore}");
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(cargo.contains("\"services/orders\"") && cargo.contains("\"services/billing\""));
    let check = stackr(&root, &["generate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn defaults_give_auth_and_core() {
    let (_parent, root) = init_project(&[]);
    let config = std::fs::read_to_string(root.join("stackr.config.json")).unwrap();
    assert!(
        config.contains("\"kind\": \"auth\"") && config.contains("\"name\": \"core\""),
        "{config}"
    );
    assert!(config.contains("\"port\": 8080"));
}

#[test]
fn no_auth_projects_have_unguarded_services() {
    let (_parent, root) = init_project(&["--no-auth", "--with-services", "api"]);
    assert!(!root.join("services/auth").exists());
    let config = std::fs::read_to_string(root.join("stackr.config.json")).unwrap();
    assert!(config.contains("\"authMiddleware\": \"none\""), "{config}");
    let compose = std::fs::read_to_string(root.join("process-compose.yaml")).unwrap();
    assert!(!compose.contains("AUTH_URL"), "{compose}");
}

#[test]
fn refuses_an_existing_folder_and_bad_names() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::create_dir(parent.path().join("taken")).unwrap();
    std::fs::write(parent.path().join("taken/file"), "x").unwrap();
    let output = stackr(parent.path(), &["init", "taken", "--defaults"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("not empty"));
    let output = stackr(parent.path(), &["init", "Bad_Name", "--defaults"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!parent.path().join("Bad_Name").exists());
    let output = stackr(
        parent.path(),
        &["init", "shop", "--with-services", "postgres"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(
        !parent.path().join("shop").exists(),
        "a refused init leaves nothing behind"
    );
}

#[test]
fn failed_init_leaves_nothing_behind() {
    let parent = tempfile::tempdir().unwrap();
    let output = common::stackr_with_env(
        parent.path(),
        &["init", "shop", "--defaults"],
        &[("STACKR_TEST_FAIL_AFTER", "5")],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("nothing was changed"));
    assert!(!parent.path().join("shop").exists());
}
