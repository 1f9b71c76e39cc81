//! `stackr init`: a complete project whose generated files are up to date.

use crate::common;

use common::{
    edit_config, init_project, init_project_on_free_ports, read_config, stackr, stderr, stdout,
};

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
        "stackr.generated",
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
    // A file in the folder's place, even an empty one, is said to be one.
    std::fs::write(parent.path().join("file"), "").unwrap();
    let output = stackr(parent.path(), &["init", "file", "--defaults"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("is not a folder") && err.contains("remove the file"),
        "{err}"
    );
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

/// A path that names no folder of its own (`.`, `..`, `/`) is refused as such: it is not an empty
/// name, which is what the refusal used to say.
#[test]
fn a_path_without_a_folder_name_is_refused_for_what_it_is() {
    let parent = tempfile::tempdir().unwrap();
    let empty = parent.path().join("shop");
    std::fs::create_dir(&empty).unwrap();
    for given in [".", "..", "/"] {
        let output = stackr(&empty, &["init", given, "--defaults"]);
        assert_eq!(output.status.code(), Some(2), "{given}");
        let err = stderr(&output);
        assert!(!err.contains("the name is empty"), "{given}: {err}");
        assert!(
            err.contains(&format!("`{given}` names no folder")) && err.contains("stackr init shop"),
            "{given}: {err}"
        );
    }
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    // A trailing `/.` still names the folder before it.
    let output = stackr(parent.path(), &["init", "shop/.", "--defaults"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(empty.join("stackr.config.json").is_file());
}

/// `init` into an empty folder that exists fills it, keeping its mode.
#[test]
fn init_into_an_existing_empty_folder_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let folder = parent.path().join("shop");
    std::fs::create_dir(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o750)).unwrap();
    let output = stackr(parent.path(), &["init", "shop", "--defaults"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(folder.join("stackr.config.json").is_file());
    let mode = std::fs::metadata(&folder).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o750);
}

/// A link in the project's place, to an empty folder or to nothing, is refused as a link before
/// anything is made: the project's rename into place could not replace it, and failed at the end
/// with only "Not a directory". Nothing is left behind, the link included.
#[test]
fn init_onto_a_link_is_refused_as_a_link() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::create_dir(parent.path().join("empty")).unwrap();
    std::os::unix::fs::symlink("empty", parent.path().join("shop")).unwrap();
    std::os::unix::fs::symlink("nowhere", parent.path().join("gone")).unwrap();
    for name in ["shop", "gone"] {
        let output = stackr(parent.path(), &["init", name, "--defaults"]);
        assert_eq!(output.status.code(), Some(2), "{name}: {}", stderr(&output));
        let err = stderr(&output);
        assert!(
            err.contains("symbolic link") && err.contains("help:"),
            "{name}: {err}"
        );
    }
    let mut left: Vec<String> = std::fs::read_dir(parent.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["empty", "gone", "shop"]);
    assert_eq!(
        std::fs::read_dir(parent.path().join("empty"))
            .unwrap()
            .count(),
        0
    );
}

/// `init` killed while writing (`kill -9`: nothing rolls back) leaves no half project under the
/// name, so `init` again just works.
#[test]
fn a_killed_init_leaves_no_half_project() {
    let parent = tempfile::tempdir().unwrap();
    let output = common::stackr_with_env(
        parent.path(),
        &["init", "shop", "--defaults"],
        &[("STACKR_TEST_CRASH_AFTER", "5")],
    );
    assert!(!output.status.success(), "{}", stderr(&output));
    assert!(!parent.path().join("shop").exists());
    let again = stackr(parent.path(), &["init", "shop", "--defaults"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let check = stackr(&parent.path().join("shop"), &["generate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));
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

/// `stackr dev` uses the state folder the config names: `--reset` wipes exactly that folder (its
/// dev secrets included) but the deployment's secrets (`stackr secrets`, its `deploy/`),
/// git-ignores it, and leaves every other file of the project alone.
#[test]
fn dev_reset_wipes_the_configured_state_folder_and_nothing_else() {
    let (_parent, root) = init_project_on_free_ports(&[]);
    edit_config(&root, |config| {
        config["stateDir"] = "var/dev".into();
    });
    // A stack that only reports whether the old secret survived, instead of starting servers.
    std::fs::write(
        root.join("quick.yaml"),
        "processes:\n  look:\n    command: \"test ! -e var/dev/secrets/auth-secret && echo wiped\"\n",
    )
    .unwrap();
    let quick_dev = |extra: &[&str]| {
        let mut args = vec!["dev", "--embedded", "--file", "quick.yaml"];
        args.extend_from_slice(extra);
        stackr(&root, &args)
    };
    // A first run makes the state folder.
    let first = quick_dev(&[]);
    assert!(first.status.success(), "{}", stderr(&first));
    std::fs::create_dir_all(root.join("var/dev/secrets")).unwrap();
    std::fs::write(root.join("var/dev/secrets/auth-secret"), "old secret").unwrap();
    std::fs::create_dir_all(root.join("var/dev/deploy/ca")).unwrap();
    std::fs::write(root.join("var/dev/deploy/ca/ca.key"), "the deployment's CA").unwrap();
    let before = common::tree(&root);

    let dev = quick_dev(&["--reset", "--yes"]);
    assert!(dev.status.success(), "{}\n{}", stdout(&dev), stderr(&dev));
    assert!(stdout(&dev).contains("wiped"), "{}", stdout(&dev));
    assert!(!root.join("var/dev/secrets").exists());
    assert_eq!(
        std::fs::read_to_string(root.join("var/dev/deploy/ca/ca.key")).unwrap(),
        "the deployment's CA",
        "the deployment's secrets are kept"
    );
    assert!(
        root.join("var/dev/.gitignore").is_file(),
        "the state folder is git-ignored"
    );
    assert!(
        !root.join(".stackr").exists(),
        "no stray default state folder"
    );
    let outside_state = |tree: std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>| {
        tree.into_iter()
            .filter(|(path, _)| !path.starts_with("var/dev"))
            .collect::<Vec<_>>()
    };
    assert_eq!(outside_state(common::tree(&root)), outside_state(before));
}

/// A port of the stack held by another program (maybe a server of this stack left running, on
/// the data a reset would delete) stops `--reset` before it deletes anything.
#[test]
fn dev_reset_deletes_nothing_while_a_port_of_the_stack_is_taken() {
    let (_parent, root) = init_project_on_free_ports(&[]);
    let auth_port = read_config(&root)["services"][0]["port"].as_u64().unwrap() as u16;
    std::fs::write(
        root.join("quick.yaml"),
        "processes:\n  look:\n    command: \"echo started\"\n",
    )
    .unwrap();
    // A first run, with auth's port free, makes the state folder.
    let first = stackr(&root, &["dev", "--embedded", "--file", "quick.yaml"]);
    assert!(first.status.success(), "{}", stderr(&first));
    std::fs::write(root.join(".stackr/kept"), "dev data").unwrap();
    let _held = std::net::TcpListener::bind(("127.0.0.1", auth_port)).unwrap();

    let dev = stackr(
        &root,
        &[
            "dev",
            "--reset",
            "--yes",
            "--embedded",
            "--file",
            "quick.yaml",
        ],
    );
    assert!(!dev.status.success(), "{}", stdout(&dev));
    assert!(
        stderr(&dev).contains(&auth_port.to_string()),
        "{}",
        stderr(&dev)
    );
    assert!(root.join(".stackr/kept").exists(), "nothing deleted");
}

/// The generated commands keep the dev data in the config's `stateDir`: a `--state-dir`
/// naming another folder would move only the lock and what `--reset` deletes, so it is refused
/// before anything is written; the configured folder itself is accepted.
#[test]
fn dev_refuses_a_state_dir_other_than_the_configured_one() {
    let (_parent, root) = init_project_on_free_ports(&[]);
    std::fs::write(
        root.join("quick.yaml"),
        "processes:\n  look:\n    command: \"echo started\"\n",
    )
    .unwrap();
    let before = common::tree(&root);
    let other = stackr(
        &root,
        &[
            "dev",
            "--state-dir",
            "elsewhere",
            "--embedded",
            "--file",
            "quick.yaml",
        ],
    );
    assert_eq!(other.status.code(), Some(2), "{}", stdout(&other));
    assert!(stderr(&other).contains("stateDir"), "{}", stderr(&other));
    assert_eq!(common::tree(&root), before, "nothing written");

    let configured = stackr(
        &root,
        &[
            "dev",
            "--state-dir",
            ".stackr",
            "--embedded",
            "--file",
            "quick.yaml",
        ],
    );
    assert!(configured.status.success(), "{}", stderr(&configured));
}

/// A config edited without `stackr generate` would run an outdated stack: `dev` refuses, names
/// the drifted files and the fix; `--no-check` starts anyway.
#[test]
fn dev_refuses_to_start_while_generated_files_drift() {
    let (_parent, root) = init_project_on_free_ports(&[]);
    std::fs::write(root.join("AGENTS.md"), "edited by hand\n").unwrap();
    std::fs::write(
        root.join("quick.yaml"),
        "processes:\n  look:\n    command: \"echo started\"\n",
    )
    .unwrap();
    let args = ["dev", "--embedded", "--file", "quick.yaml"];
    let refused = stackr(&root, &args);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("AGENTS.md"),
        "{}",
        stderr(&refused)
    );
    assert!(
        stderr(&refused).contains("stackr generate"),
        "{}",
        stderr(&refused)
    );
    assert!(!stdout(&refused).contains("started"));

    let forced = stackr(&root, &[&args[..], &["--no-check"]].concat());
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(stdout(&forced).contains("started"), "{}", stdout(&forced));
}

#[test]
fn init_in_another_folder_says_where_to_cd() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::create_dir(parent.path().join("work")).unwrap();
    let output = stackr(parent.path(), &["-C", "work", "init", "shop", "--defaults"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("next: cd work/shop &&"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn init_sets_each_base_services_guard_and_roles() {
    let parent = tempfile::tempdir().unwrap();
    let output = stackr(
        parent.path(),
        &[
            "init",
            "shop",
            "--with-services",
            "core,wallet,ledger",
            "--auth-middleware",
            "core=flexible",
            "--roles",
            "wallet=finance,audit",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(parent.path().join("shop/stackr.config.json")).unwrap(),
    )
    .unwrap();
    let service = |name: &str| {
        config["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(service("core")["authMiddleware"], "flexible");
    assert_eq!(service("wallet")["authMiddleware"], "role-gated");
    assert_eq!(
        service("wallet")["roles"],
        serde_json::json!(["finance", "audit"])
    );
    assert_eq!(service("ledger")["authMiddleware"], "standard");
}

#[test]
fn init_refuses_guards_it_cannot_give_and_writes_nothing() {
    let parent = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (
            &["--auth-middleware", "core=role-gated"][..],
            "`core` would be role-gated with no roles",
        ),
        (
            &["--roles", "billing=finance"][..],
            "--roles names `billing`, which is not a base service of this project",
        ),
        (
            &["--auth-middleware", "core=sometimes"][..],
            "`sometimes` is not a guard flavor",
        ),
        // No role after `=` was taken for no `--roles` at all, without a word.
        (
            &["--roles", "core="][..],
            "'core=' for '--roles <SERVICE=ROLES>': `core=` names no roles",
        ),
        (&["--roles", "core= , "][..], "`core= , ` names no roles"),
        // An empty entry among roles, as `add service --roles` refuses it.
        (&["--roles", "core=finance,,audit"][..], "an empty role"),
    ] {
        let mut all = vec!["init", "shop", "--defaults"];
        all.extend_from_slice(args);
        let output = stackr(parent.path(), &all);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            !parent.path().join("shop").exists(),
            "{args:?} left a project behind"
        );
    }
}

/// A flake command copies a folder that is not a git repository into the Nix store whole, where
/// every local user can read it: `.stackr/`, with the dev secrets and databases, and later the
/// deployment's secrets. `init` makes the project a git repository with its files staged, so
/// `nix run .#dev` works at once and copies only what git tracks.
#[test]
fn the_project_is_a_git_repository_that_keeps_its_state_out() {
    if !common::installed("git") {
        eprintln!("git not installed: skipped");
        return;
    }
    let (_parent, root) = init_project(&[]);
    let git = |args: &[&str]| {
        let output = std::process::Command::new("git")
            .args(args)
            .current_dir(&root)
            .output()
            .unwrap();
        (output.status.success(), stdout(&output))
    };
    let (_, top) = git(&["rev-parse", "--show-toplevel"]);
    assert_eq!(
        std::path::Path::new(top.trim()).canonicalize().unwrap(),
        root.canonicalize().unwrap()
    );
    let (_, staged) = git(&["ls-files"]);
    for file in [
        "flake.nix",
        "stackr.config.json",
        "nix/dev.nix",
        ".gitignore",
    ] {
        assert!(
            staged.lines().any(|l| l == file),
            "{file} not staged:\n{staged}"
        );
    }
    let (ignored, _) = git(&["check-ignore", "-q", ".stackr/deploy/ca/ca.key"]);
    assert!(ignored, "the state folder is not ignored");
}

/// Inside a repository already (a monorepo), the project is part of it: no repository of its own.
/// Its dev app still runs in the project.
#[test]
fn inside_a_repository_the_project_has_no_repository_of_its_own_and_dev_runs_in_it() {
    if !common::installed("git") {
        eprintln!("git not installed: skipped");
        return;
    }
    let parent = tempfile::tempdir().unwrap();
    let init = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(parent.path())
        .status()
        .unwrap();
    assert!(init.success());
    let output = stackr(parent.path(), &["init", "shop", "--defaults"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let root = parent.path().join("shop");
    assert!(!root.join(".git").exists());

    // `nix run .#dev` from a folder of the project runs process-compose in the project, not at
    // the top of the repository around it (which has no process-compose.yaml, or another's).
    let dev_nix = std::fs::read_to_string(root.join("nix/dev.nix")).unwrap();
    let script = dev_nix
        .split_once("text = ''")
        .and_then(|(_, rest)| rest.split_once("'';"))
        .expect("the app's script")
        .0;
    assert!(!script.contains("${"), "Nix would interpolate: {script}");
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("process-compose");
    std::fs::write(&fake, "#!/bin/sh\npwd\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let inside = root.join("services/core/src");
    let output = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(&inside)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.path().display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        std::path::Path::new(stdout(&output).trim())
            .canonicalize()
            .unwrap(),
        root.canonicalize().unwrap()
    );
}
